/**
 * Several processes of one service instance on the same ports, for a service whose one JavaScript thread is its limit
 * (ingest decoding and producing, the feature store answering): SERVICE_PROCESSES=N makes `runMain` fork N workers
 * with Node's cluster module. The primary accepts each connection and hands it to the workers in turn (gRPC
 * connections are long-lived: the calls of one connection stay on one worker, so the spread comes from many clients);
 * it serves nothing itself, starts a worker that died again, and stops them all on SIGTERM. Each worker is the whole
 * service (its own Kafka, Redis and database clients); `/metrics` of any of them answers the sum over all of them.
 * Why cluster and not worker threads: docs/decisions/0028-service-processes.md.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const METRICS_REQUEST = 'pulse:instance-metrics';
const METRICS_REPLY = 'pulse:instance-metrics-reply';
/** A worker that dies this many times within a minute ends the instance (its orchestrator starts it again). */
const MAX_RESTARTS_PER_MINUTE = 5;

/** SERVICE_PROCESSES: processes serving this instance (1, the default: no cluster). */
export function serviceProcesses(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['SERVICE_PROCESSES']?.trim() ?? '';
  if (raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`SERVICE_PROCESSES must be an integer from 1 to 64, got "${raw}"`);
  return n;
}

/** Whether this process is the primary of a clustered instance (it forks and watches the workers, nothing else). */
export function isClusterPrimary(processes: number): boolean {
  return processes > 1 && cluster.isPrimary;
}

/**
 * The primary: forks `count` workers, forks again for one that exits unless it is stopping (more than
 * MAX_RESTARTS_PER_MINUTE in a minute: the instance exits 1), forwards SIGTERM/SIGINT and exits when all are gone,
 * and answers the workers' requests for the instance's metrics.
 */
export function superviseWorkers(count: number, log: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): void {
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  const restarts: number[] = [];
  const fork = () => cluster.fork();
  for (let i = 0; i < count; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && restarts[0] < now - 60_000) restarts.shift();
    if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
      log(`worker ${worker.process.pid} exited (${signal ?? code}); ${restarts.length} exits within a minute: stopping the instance`);
      stop(1);
      return;
    }
    log(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    setTimeout(fork, 1_000);
  });
  cluster.on('message', (worker: Worker, message: { type?: string; id?: number }) => {
    if (message?.type !== METRICS_REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.isConnected() && worker.send({ type: METRICS_REPLY, id: message.id, text }),
      (error: unknown) => worker.isConnected() && worker.send({ type: METRICS_REPLY, id: message.id, error: String(error) }),
    );
  });
  const stop = (code: number) => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(code);
    for (const worker of workers) worker?.process.kill('SIGTERM');
    // (a worker that does not stop in time is not waited for)
    setTimeout(() => process.exit(code), 30_000).unref();
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
}

/**
 * In a worker of a clustered instance, answers the primary's requests for this process's metrics (prom-client's
 * aggregation) from `registry`; elsewhere nothing. Called once the service's registry exists (ServiceMetrics).
 */
export function shareMetricsWithPrimary(registry: Registry): void {
  if (!cluster.isWorker) return;
  new AggregatorRegistry(); // installs the worker's listener (once)
  AggregatorRegistry.setRegistries([registry]);
}

const waiting = new Map<number, (reply: { text?: string; error?: string }) => void>();
let listening = false;
let nextId = 0;

/**
 * The metrics text of the instance: this process's registry, or in a worker of a clustered instance the sum over
 * every worker (asked of the primary; this process's own when it does not answer within 5 s).
 */
export async function instanceMetrics(registry: Registry): Promise<string> {
  const send = process.send?.bind(process);
  if (!cluster.isWorker || !send) return registry.metrics();
  if (!listening) {
    listening = true;
    process.on('message', (message: { type?: string; id?: number; text?: string; error?: string }) => {
      if (message?.type !== METRICS_REPLY || message.id === undefined) return;
      waiting.get(message.id)?.(message);
      waiting.delete(message.id);
    });
  }
  const id = nextId++;
  const reply = await new Promise<{ text?: string; error?: string }>((resolve) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      resolve({ error: 'the primary did not answer within 5 s' });
    }, 5_000);
    waiting.set(id, (r) => {
      clearTimeout(timer);
      resolve(r);
    });
    send({ type: METRICS_REQUEST, id });
  });
  return reply.text ?? registry.metrics();
}
