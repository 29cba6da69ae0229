/**
 * The platform the faults are injected into: built Pulse services on the replicated stack (tools/stack/ha), each
 * replica a process of its own under a supervisor that starts it again when it ends (as Kubernetes restarts a pod),
 * and the stack's own fault commands (kill -9, down, start of one broker, node or server).
 */
import { freePort, kafkaErrorMessage } from '@pulse/platform';
import { type ServicePorts, type ServiceProcess, startService } from '@pulse/platform/testing';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The workspace root. */
export const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

/**
 * One replica of a Pulse service, started again by the supervisor whenever its process is gone — on the same ports,
 * so that the services calling it find it again (as behind a Kubernetes Service).
 */
export class Replica {
  process?: ServiceProcess;
  private ports?: ServicePorts;
  restarts = 0;
  /** When the replica was last found dead and when it was ready again (for the report). */
  lastDownAt?: number;
  lastReadyAt?: number;
  private starting?: Promise<void>;
  /** Logs kept so far (numbers them) and the process whose log was kept last. */
  private generation = 0;
  private kept?: ServiceProcess;

  constructor(
    readonly id: string,
    readonly service: string,
    private readonly env: Record<string, string>,
    private readonly onStart: (replica: Replica) => void = () => undefined,
    /** Where each process's output is written when it ends (`<id>.<n>.log`); none: not kept. */
    private readonly logDir?: string,
  ) {}

  get running(): boolean {
    return this.process?.running() ?? false;
  }

  /** Whether a start is under way (the supervisor waits for it instead of starting another). */
  get isStarting(): boolean {
    return this.starting !== undefined;
  }

  get grpcAddress(): string | undefined {
    return this.running ? this.process?.grpcAddress : undefined;
  }

  /** Where its peers call it (its gRPC port is kept across restarts), known once it was first started or reserved. */
  get peerAddress(): string {
    if (!this.ports) throw new Error(`${this.id} was not started yet`);
    return `127.0.0.1:${this.ports.grpc}`;
  }

  /** Its HTTP base URL (health, metrics; the console's pages), known once it was first started or reserved. */
  get httpUrl(): string {
    if (!this.ports) throw new Error(`${this.id} was not started yet`);
    return `http://127.0.0.1:${this.ports.http}`;
  }

  /** Takes its ports before its first start, for peers that must know where it will be (two services calling each other). */
  async reserve(): Promise<this> {
    this.ports ??= { grpc: await freePort(), http: await freePort() };
    return this;
  }

  /** Starts the process (once at a time) and waits until it is ready; a failed start is tried again by the supervisor. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      try {
        this.keepLog();
        this.ports ??= { grpc: await freePort(), http: await freePort() };
        this.process = await startService(this.service, { ...this.env, LEADER_ELECTION_IDENTITY: this.id }, 180_000, this.ports);
        this.lastReadyAt = Date.now();
        this.onStart(this);
      } finally {
        this.starting = undefined;
      }
    })();
    return this.starting;
  }

  /** kill -9: a crash without a chance to flush, commit or hand over. */
  async crash(): Promise<void> {
    await this.process?.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    await this.process?.stop();
    this.keepLog();
  }

  /** Writes the output of the process that ended into the log directory (once per process). */
  private keepLog(): void {
    const ended = this.process;
    if (!this.logDir || !ended || ended.running() || ended === this.kept) return;
    this.kept = ended;
    mkdirSync(this.logDir, { recursive: true });
    writeFileSync(join(this.logDir, `${this.id}.${++this.generation}.log`), ended.output());
  }

  /** Whether this replica holds the leadership of its singleton now (leader_election_is_leader on /metrics). */
  async isLeader(): Promise<boolean> {
    if (!this.running || !this.process) return false;
    const text = await fetch(`${this.process.httpUrl}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    return /^leader_election_is_leader\{[^}]*\} 1$/m.test(text);
  }
}

/** Restarts replicas whose process ended, one second after it is noticed, for as long as it runs. */
export class Supervisor {
  private timer?: NodeJS.Timeout;
  private readonly replicas: Replica[] = [];
  readonly log: string[] = [];

  add(replica: Replica): Replica {
    this.replicas.push(replica);
    return replica;
  }

  all(service?: string): Replica[] {
    return this.replicas.filter((r) => service === undefined || r.service === service);
  }

  start(): void {
    this.timer = setInterval(() => {
      for (const replica of this.replicas) {
        if (replica.running || replica.process === undefined || replica.isStarting) continue;
        replica.lastDownAt ??= Date.now();
        replica.start().then(
          () => {
            replica.restarts++;
            this.log.push(
              `${new Date().toISOString()} ${replica.id} restarted (down ${Date.now() - (replica.lastDownAt ?? Date.now())} ms)`,
            );
            replica.lastDownAt = undefined;
          },
          (error: unknown) => this.log.push(`${new Date().toISOString()} ${replica.id} did not start: ${String(error).slice(0, 300)}`),
        );
      }
    }, 1_000);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.replicas.map((r) => r.stop().catch(() => undefined)));
  }
}

/**
 * The replicated stack's fault commands: `kill` (-9), `down` (clean stop), `start`, `pause`, `resume`, `partition` (cut
 * off from every other process, both ways) and `heal` of an instance.
 */
export async function stackFault(
  command: 'kill' | 'down' | 'start' | 'pause' | 'resume' | 'partition' | 'heal',
  instance: string,
): Promise<void> {
  await run(join(ROOT, 'tools', 'stack', 'ha'), [command, instance], { cwd: ROOT, timeout: 600_000 });
}

/**
 * A region's connection variables as the replicated stack gives them (`tools/stack/ha env`, or `env-b` for region B):
 * KAFKA_BROKERS, PG_URL, REDIS_URL, ... — the one place that knows its addresses.
 */
export async function stackEnv(command: 'env' | 'env-b'): Promise<Record<string, string>> {
  const { stdout } = await run(join(ROOT, 'tools', 'stack', 'ha'), [command], { cwd: ROOT });
  const env: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]] = match[2].replace(/^'(.*)'$/, '$1');
  }
  return env;
}

/** `nodetool <args>` on Cassandra node n of the replicated stack. */
export async function nodetool(n: number, args: string[]): Promise<string> {
  const { stdout } = await run(join(ROOT, 'tools', 'stack', 'ha'), ['nodetool', String(n), ...args], {
    cwd: ROOT,
    timeout: 900_000,
    maxBuffer: 16 << 20,
  });
  return stdout;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `attempt`, tried again every `pauseMs` while it fails; its last error, named by `what`, once `timeoutMs` passed. */
export async function retried<T>(what: string, attempt: () => Promise<T>, timeoutMs = 60_000, pauseMs = 2_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what} did not succeed within ${timeoutMs / 1000} s: ${kafkaErrorMessage(error)}`);
      await sleep(pauseMs);
    }
  }
}

/**
 * storage as the harnesses run it: the activity consumer only (group `group`, from where it is placed), writing
 * `keyspace` (created by its migrations at start), no CDC consumer, reconciler or media sweeper.
 */
export function activityStorageEnv(keyspace: string, group: string, mediaRoot: string): Record<string, string> {
  return {
    CASSANDRA_KEYSPACE: keyspace,
    STORAGE_AUTO_MIGRATE: 'true',
    STORAGE_CDC_CONSUMER: 'false',
    STORAGE_ACTIVITY_GROUP: group,
    STORAGE_RECONCILER: 'false',
    MEDIA_ROOT: mediaRoot,
    MEDIA_SWEEPER: 'false',
  };
}

/**
 * etl as the harnesses run it, on the lake at `lakeRoot` with its groups under `groupPrefix`: no served lists, no
 * CDC tables, no compaction, micro-batches every 500 ms (which streams run is the caller's: ETL_*_STREAMS).
 */
export function harnessEtlEnv(lakeRoot: string, groupPrefix: string): Record<string, string> {
  return {
    LAKE_ROOT: lakeRoot,
    ETL_GROUP_PREFIX: groupPrefix,
    ETL_SERVED_TOPIC: '',
    ETL_CDC_TABLES: '',
    ETL_TRIGGER_INTERVAL: '500ms',
    LAKE_COMPACTION_INTERVAL: '0s',
  };
}
