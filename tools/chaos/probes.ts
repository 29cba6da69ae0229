/**
 * What a kill of a service off the activity path must keep, checked beside the common sinks: each probe runs a load
 * of its own with the scenario (the writes that service acknowledges, or the answers that depend on it), injects the
 * scenario's kill at the right moment, and afterwards says what it found and whether the service kept its promise.
 *
 * - erasure (privacy): users erased while both privacy replicas are killed in the middle of their jobs: every job
 *   completes, and nothing of those users is left in the lake, storage or the recommender's state;
 * - experiments: lists served while the experiments service is down keep their users' variants (the recommender
 *   assigns from the experiments it read last), and every experiment whose creation was acknowledged exists after;
 * - simulator: a killed simulator loads its world back (no second world in the app database) and its users act again;
 * - console: every like acknowledged through the console's page action is in storage's activity.
 */
import { analyticsV1, experimentsV1, privacyV1, recsV1, simulatorV1, timestampToMillis, Topics } from '@pulse/contracts';
import { DeltaTable, LakeEngine, LocalLakeStorage } from '@pulse/lake';
import { assignUser } from '@pulse/experiments';
import { type KafkaClient, readTopicRanges, type UnaryClient } from '@pulse/platform';
import type { Client as CassandraClient } from 'cassandra-driver';
import type Redis from 'ioredis';
import { Client as PgClient } from 'pg';
import { countAgainst, lakeCopies, recommenderCopies, type SinkCount, storageCopies } from './sinks';
import { ActivityLoad, Availability, type EventClock } from './workload';
import { type Replica, sleep, type Supervisor } from './world';

/** What a probe sees of the platform under test (the harness's World). */
export interface ProbeWorld {
  readonly run: string;
  readonly schema: string;
  readonly pgUrl: string;
  readonly supervisor: Supervisor;
  readonly kafka: KafkaClient;
  readonly recsPrefix: string;
  readonly cassandra?: CassandraClient;
  readonly redis?: Redis;
  /** The experiment every user of the run is assigned in (layer of the run, 100 % of its traffic). */
  readonly experiment?: experimentsV1.Experiment;
  /** The simulator's world size. */
  readonly simulatorUsers: number;
  /** Where the log indexer writes: the log store's URL and the run's index prefix. */
  readonly logStore: { url: string; indexPrefix: string };
  lakeRoot(): string;
  /** A client of a running replica (the harness's credentials), none while it is down. */
  clientOf(replica: Replica): UnaryClient | undefined;
  /** The first running replica's client of a service. */
  clientsOf(service: 'ingest' | 'storage' | 'feature-store' | 'recommender'): { replica: string; client: UnaryClient }[];
}

/** A fault: what was done (for the report) and, where there is one, how it is healed. */
export interface Fault {
  detail: string;
  heal?: () => Promise<string>;
}

export interface ProbeReport {
  ok: boolean;
  [field: string]: unknown;
}

/** One scenario's check of the killed service: started with the load, the fault at 25 %, stopped with the load. */
export interface Probe {
  start(): void;
  inject(): Promise<Fault>;
  stop(): Promise<void>;
  /** Waits (until `deadline`, epoch ms) for what must hold, then reports. */
  check(deadline: number): Promise<ProbeReport>;
}

/** What a scenario's probe is made from. */
export interface ProbeContext {
  world: ProbeWorld;
  /** The scenario's id prefix (its events, users and posts). */
  prefix: string;
  clock: EventClock;
  /** The scenario's main activity load (its users read their lists once a second). */
  activity: ActivityLoad;
}

const running = (world: ProbeWorld, service: string) => world.supervisor.all(service).filter((r) => r.running);

async function killAll(world: ProbeWorld, service: string): Promise<string> {
  const replicas = running(world, service);
  if (replicas.length === 0) throw new Error(`no running ${service} replica to kill`);
  await Promise.all(replicas.map((r) => r.crash()));
  return `kill -9 ${replicas.map((r) => r.id).join(', ')} (the supervisor starts them again)`;
}

/** An experiment of two variants: the promoted pipeline (control) and the popularity list, half the traffic each. */
export function promotedVsPopular(
  name: string,
  layer: string,
  trafficPercent: number,
): Omit<Partial<experimentsV1.Experiment>, 'variants'> & { variants: Partial<experimentsV1.Variant>[] } {
  return {
    name,
    layer,
    trafficPercent,
    variants: [
      { name: 'control', weight: 50, control: true, strategy: experimentsV1.ServingStrategy.SERVING_STRATEGY_PROMOTED },
      { name: 'popular', weight: 50, strategy: experimentsV1.ServingStrategy.SERVING_STRATEGY_POPULAR },
    ],
    primaryMetric: experimentsV1.Metric.METRIC_CTR,
  };
}

/** The fault of a probe whose scenario is the kill of every replica of its service. */
const killFault = (world: ProbeWorld, service: string): Promise<Fault> => killAll(world, service).then((detail) => ({ detail }));

/** A client of the first running replica of a service that has one; the error a probe's call fails with when none. */
function anyClient(world: ProbeWorld, service: string): UnaryClient {
  for (const r of running(world, service)) {
    const client = world.clientOf(r);
    if (client) return client;
  }
  throw new Error(`no ${service} replica running`);
}

/** Retries `read` every second until `done` holds or the deadline passes; the last value read (or its error). */
async function until<T>(deadline: number, read: () => Promise<T>, done: (value: T) => boolean): Promise<T | { error: string }> {
  for (;;) {
    let value: T | { error: string };
    try {
      value = await read();
      if (done(value)) return value;
    } catch (error) {
      value = { error: String((error as { details?: string }).details ?? (error as Error).message ?? error).slice(0, 300) };
    }
    if (Date.now() > deadline) return value;
    await sleep(1_000);
  }
}

const isError = (value: unknown): value is { error: string } => typeof value === 'object' && value !== null && 'error' in value;
const today = () => Math.floor(Date.now() / 86_400_000);

/**
 * A probe whose own load is a few calls every `everyMs` (`calls`), and whose fault is the kill of every replica of its
 * service; its stop waits for the calls in flight.
 */
abstract class PeriodicProbe implements Probe {
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    protected readonly ctx: ProbeContext,
    private readonly service: string,
    private readonly everyMs: number,
  ) {}

  /** This interval's calls (each settles on its own: its outcome is counted by the probe). */
  protected abstract calls(): Promise<unknown>[];

  abstract check(deadline: number): Promise<ProbeReport>;

  start(): void {
    this.timer = setInterval(() => {
      for (const call of this.calls()) {
        this.inFlight.add(call);
        void call.finally(() => this.inFlight.delete(call));
      }
    }, this.everyMs);
  }

  inject(): Promise<Fault> {
    return killFault(this.ctx.world, this.service);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
  }
}

/**
 * kill-privacy: three users act, then leave (EraseUser); once a job is under way, every privacy replica is killed.
 * The restarted workers must finish each job from where it stood, and every store be clean of those users, while the
 * scenario's other users keep every event (the common sinks' check).
 */
export class ErasureProbe implements Probe {
  private readonly leaving: ActivityLoad;
  private readonly jobs = new Map<string, string>();
  private atKill: Record<string, string> = {};

  constructor(private readonly ctx: ProbeContext) {
    const { clock } = ctx;
    // Their event time is the run's (etl's watermarks must not jump ahead), but their load neither starts nor stops it.
    const sharedClock = { now: () => clock.now(), resume: () => undefined, pause: () => undefined };
    // (a prefix the scenario's own does not start: its sinks' counts never see these users)
    const prefix = ctx.prefix.replace(`${ctx.world.run}-`, `${ctx.world.run}-leaving-`);
    this.leaving = new ActivityLoad(() => ctx.world.clientsOf('ingest'), {
      prefix,
      rate: 30,
      users: 3,
      posts: 3,
      clock: sharedClock,
      retryForMs: 60_000,
    });
  }

  private async erasure(jobId: string): Promise<privacyV1.Erasure | undefined> {
    return (await anyClient(this.ctx.world, 'privacy').call<privacyV1.GetErasureResponse>('GetErasure', { jobId }, { deadlineMs: 2_000 }))
      .erasure;
  }

  start(): void {
    this.leaving.start();
  }

  async inject(): Promise<Fault> {
    const { world } = this.ctx;
    await this.leaving.stop();
    // What they did is in storage before they leave (so that there is something to erase everywhere).
    const users = this.leaving.userIds();
    await until(
      Date.now() + 20_000,
      () => storageCopies(world.cassandra!, users, [today() - 1, today()]),
      (ids) => countAgainst(this.leaving.acked, ids).lost === 0,
    );
    for (const userId of users) {
      const { erasure } = await anyClient(world, 'privacy').call<privacyV1.EraseUserResponse>(
        'EraseUser',
        { userId, basis: privacyV1.ErasureBasis.ERASURE_BASIS_ACCOUNT_CLOSED },
        { deadlineMs: 5_000 },
      );
      if (!erasure?.jobId) throw new Error(`EraseUser ${userId} answered no job`);
      this.jobs.set(userId, erasure.jobId);
    }
    // The kill comes once a job has erased a store and before the jobs are done.
    const underWay = (e: privacyV1.Erasure | undefined) =>
      e?.state === privacyV1.ErasureState.ERASURE_STATE_RUNNING &&
      e.stores.some((s) => s.state !== privacyV1.StoreState.STORE_STATE_PENDING);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const states = await Promise.all([...this.jobs.values()].map((id) => this.erasure(id).catch(() => undefined)));
      if (states.some(underWay)) {
        this.atKill = Object.fromEntries(
          states.map((e, i) => [
            [...this.jobs.keys()][i],
            `${e ? privacyV1.ErasureState[e.state] : 'unknown'}; stores done: ${
              e?.stores
                .filter((s) => s.state !== privacyV1.StoreState.STORE_STATE_PENDING)
                .map((s) => s.store)
                .join(' ') ?? ''
            }`,
          ]),
        );
        break;
      }
      await sleep(100);
    }
    return { detail: `${await killAll(world, 'privacy')} with ${this.jobs.size} erasures under way` };
  }

  async stop(): Promise<void> {
    await this.leaving.stop();
  }

  async check(deadline: number): Promise<ProbeReport> {
    const { world } = this.ctx;
    const completed = privacyV1.ErasureState.ERASURE_STATE_COMPLETED;
    const jobs = await until(
      deadline,
      () => Promise.all([...this.jobs.values()].map((id) => this.erasure(id))),
      (all) => all.every((e) => e?.state === completed),
    );
    const users = this.leaving.userIds();
    const none = (ids: Map<string, number>) => [...ids.values()].reduce((a, b) => a + b, 0);
    const left = {
      lake: none(await lakeCopies(world.lakeRoot(), this.leaving.options.prefix)),
      storage: none(await storageCopies(world.cassandra!, users, [today() - 1, today()])),
      recommender_actions: none(await recommenderCopies(world.redis!, world.recsPrefix, this.leaving.sent, users)),
      recommender_keys: (await Promise.all(users.map((u) => world.redis!.keys(`${world.recsPrefix}u:${u}:*`)))).flat().length,
    };
    const states = isError(jobs) ? [] : jobs;
    const done = states.filter((e) => e?.state === completed).length;
    return {
      ok: done === this.jobs.size && this.jobs.size === users.length && Object.values(left).every((n) => n === 0),
      users: users.length,
      events_acknowledged: this.leaving.acked.size,
      jobs_at_kill: this.atKill,
      jobs_completed: done,
      ...(isError(jobs) ? { error: jobs.error } : {}),
      passes: states.map((e) => e?.passes ?? 0),
      // of a job not completed: what its last verification pass still found, by store
      found_on_verify: states
        .filter((e) => e && e.state !== completed)
        .map((e) =>
          Object.fromEntries(e!.stores.filter((st) => Object.keys(st.foundOnVerify).length > 0).map((st) => [st.store, st.foundOnVerify])),
        ),
      attempts: states.map((e) => e?.attempts ?? 0),
      left_after: left,
    };
  }
}

/**
 * kill-experiments: the run's experiment assigns every user; while the experiments service is down (killed, then
 * restarted by the supervisor) the recommender keeps tagging each list with its user's variant, and every
 * experiment created during the load (a draft a second) whose creation was acknowledged exists afterwards.
 */
export class ExperimentsProbe extends PeriodicProbe {
  private since?: bigint[];
  private n = 0;
  private readonly created = new Set<string>();
  readonly availability = new Availability();

  constructor(ctx: ProbeContext) {
    super(ctx, 'experiments', 1_000);
  }

  override start(): void {
    void this.ctx.world.kafka.admin.endOffsets(Topics.recsServed.name).then((ends) => (this.since = ends));
    super.start();
  }

  protected calls(): Promise<unknown>[] {
    const draft = promotedVsPopular(`${this.ctx.prefix}-draft-${this.n++}`, `${this.ctx.prefix}-drafts`, 10);
    const created = Promise.resolve()
      .then(() =>
        anyClient(this.ctx.world, 'experiments').call<experimentsV1.CreateExperimentResponse>(
          'CreateExperiment',
          { experiment: draft },
          { deadlineMs: 2_000 },
        ),
      )
      .then(
        (r) => {
          this.availability.success();
          if (r.experiment?.id) this.created.add(r.experiment.id);
        },
        (error: unknown) => this.availability.failure(error),
      );
    return [created];
  }

  override async check(deadline: number): Promise<ProbeReport> {
    const { world, activity } = this.ctx;
    const experiment = world.experiment;
    if (!experiment || !this.since) return { ok: false, error: 'no experiment running, or the served topic was not read' };
    const found = await until(
      deadline,
      async () => {
        const client = anyClient(this.ctx.world, 'experiments');
        let n = 0;
        for (const id of this.created) {
          const r = await client
            .call<experimentsV1.GetExperimentResponse>('GetExperiment', { id }, { deadlineMs: 2_000 })
            .catch(() => undefined);
          if (r?.experiment?.id === id) n++;
        }
        return n;
      },
      (n) => n === this.created.size,
    );
    // Every list served to the scenario's users since the load began.
    const ends = await world.kafka.admin.endOffsets(Topics.recsServed.name);
    const records = await readTopicRanges(
      world.kafka,
      Topics.recsServed,
      new Map(ends.map((to, partition) => [partition, { from: this.since![partition] ?? 0n, to }])),
      60_000,
    );
    const users = new Set(activity.userIds());
    const lists = { served: 0, tagged_right: 0, untagged: 0, wrong_variant: 0 };
    const examples: string[] = [];
    for (const r of records) {
      const served = r.value as recsV1.RecommendationServed | null;
      if (!served || !users.has(served.userId)) continue;
      lists.served++;
      const want = assignUser([experiment], served.userId)?.variant.name;
      if (served.experimentId !== experiment.id) lists.untagged++;
      else if (served.variant !== want) lists.wrong_variant++;
      else lists.tagged_right++;
      if ((served.experimentId !== experiment.id || served.variant !== want) && examples.length < 5)
        examples.push(`${served.userId}: ${served.experimentId || '(none)'}/${served.variant || '(none)'}, wanted ${want}`);
    }
    const createdFound = isError(found) ? 0 : found;
    return {
      ok: lists.served > 0 && lists.tagged_right === lists.served && createdFound === this.created.size,
      lists,
      ...(examples.length > 0 ? { examples } : {}),
      drafts: {
        attempted: this.n,
        acknowledged: this.created.size,
        found: createdFound,
        failed_attempts: this.availability.failures,
        unavailable_s: this.availability.unavailableSeconds(),
        errors: this.availability.topErrors(),
      },
    };
  }
}

/** kill-simulator: the simulator comes back on the same world (loaded, not seeded again) and its users act again. */
export class SimulatorProbe implements Probe {
  private before?: simulatorV1.GetStatusResponse;

  constructor(private readonly ctx: ProbeContext) {}

  private async status(): Promise<simulatorV1.GetStatusResponse> {
    return anyClient(this.ctx.world, 'simulator').call<simulatorV1.GetStatusResponse>('GetStatus', {}, { deadlineMs: 2_000 });
  }

  start(): void {
    // (read at the fault)
  }

  async inject(): Promise<Fault> {
    this.before = await this.status();
    return { detail: await killAll(this.ctx.world, 'simulator') };
  }

  async stop(): Promise<void> {
    // (nothing of its own)
  }

  async check(deadline: number): Promise<ProbeReport> {
    const before = this.before;
    if (!before) return { ok: false, error: 'no status before the kill' };
    const after = await until(
      deadline,
      () => this.status(),
      (s) => s.run === before.run + 1 && s.state === simulatorV1.SimulatorState.SIMULATOR_STATE_RUNNING && Number(s.eventsSentTotal) > 0,
    );
    const pg = new PgClient({ connectionString: this.ctx.world.pgUrl });
    await pg.connect();
    let worldUsers: number;
    try {
      const { rows } = await pg.query(
        `SELECT count(*)::int AS n FROM ${this.ctx.world.schema}.users WHERE email LIKE '%@sim.pulse.example'`,
      );
      worldUsers = rows[0].n;
    } finally {
      await pg.end();
    }
    const ok =
      !isError(after) &&
      after.run === before.run + 1 &&
      after.seed === before.seed &&
      after.users === before.users &&
      Number(after.eventsSentTotal) > 0 &&
      worldUsers === this.ctx.world.simulatorUsers;
    return {
      ok,
      before: { run: before.run, users: before.users, posts: Number(before.posts), events_sent: Number(before.eventsSentTotal) },
      after: isError(after)
        ? after
        : {
            run: after.run,
            state: simulatorV1.SimulatorState[after.state],
            users: after.users,
            posts: Number(after.posts),
            events_sent_since_restart: Number(after.eventsSentTotal),
            errors: after.errors.map((e) => `${e.peer} ${e.code}: ${e.count}`),
          },
      world_users_in_app_database: worldUsers,
    };
  }
}

/**
 * kill-console: a page read and a like through the console's user page action every second; each like the console
 * acknowledged (ingest's ACCEPTED or DUPLICATE in its answer) must be in storage's activity.
 */
export class ConsoleProbe extends PeriodicProbe {
  private n = 0;
  private readonly acked = new Set<string>();
  readonly pages = new Availability();
  readonly actions = new Availability();

  constructor(ctx: ProbeContext) {
    super(ctx, 'console', 1_000);
  }

  private users(): string[] {
    return Array.from({ length: 5 }, (_, i) => `${this.ctx.prefix}-console-u${i}`);
  }

  private base(): string | undefined {
    const [replica] = this.ctx.world.supervisor.all('console');
    return replica?.httpUrl;
  }

  protected calls(): Promise<unknown>[] {
    const base = this.base();
    const n = this.n++;
    const userId = this.users()[n % 5];
    const page = fetch(`${base}/users/${encodeURIComponent(userId)}`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => (r.ok ? this.pages.success() : this.pages.failure(new Error(`HTTP ${r.status}`))),
      (error: unknown) => this.pages.failure(error),
    );
    const action = fetch(`${base}/api/users/${encodeURIComponent(userId)}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'LIKE', itemId: `${this.ctx.prefix}-p${n % 20}` }),
      signal: AbortSignal.timeout(5_000),
    }).then(
      async (r) => {
        const body = (await r.json().catch(() => ({}))) as { status?: string; eventId?: string; message?: string };
        if (r.ok && body.eventId && (body.status === 'ACCEPTED' || body.status === 'DUPLICATE')) {
          this.actions.success();
          this.acked.add(body.eventId);
        } else this.actions.failure(new Error(`HTTP ${r.status} ${body.message ?? ''}`));
      },
      (error: unknown) => this.actions.failure(error),
    );
    return [page, action];
  }

  async check(deadline: number): Promise<ProbeReport> {
    const copies = await until(
      deadline,
      () => storageCopies(this.ctx.world.cassandra!, this.users(), [today() - 1, today()]),
      (ids) => countAgainst(this.acked, ids).lost === 0,
    );
    const storage: SinkCount | { error: string } = isError(copies) ? copies : countAgainst(this.acked, copies);
    const of = (a: Availability) => ({
      attempts: a.attempts,
      failures: a.failures,
      unavailable_s: a.unavailableSeconds(),
      errors: a.topErrors(),
    });
    return {
      ok: !isError(storage) && storage.lost === 0 && this.acked.size > 0,
      likes: { attempted: this.n, acknowledged: this.acked.size, storage },
      pages: of(this.pages),
      actions: of(this.actions),
    };
  }
}

/**
 * kill-logs: lines shipped to `pulse.logs.v1` as every service's shipper does (the harness's own producer, 50 a
 * second, one service name per scenario); the indexer is killed and restarted by the supervisor. Every line Kafka
 * acknowledged must be in the log store exactly once (a line's document id is its Kafka position).
 */
export class LogsProbe extends PeriodicProbe {
  private n = 0;
  private readonly acked = new Set<string>();
  readonly shipping = new Availability();

  constructor(ctx: ProbeContext) {
    super(ctx, 'logs', 100);
  }

  protected calls(): Promise<unknown>[] {
    const { prefix, world } = this.ctx;
    const lines = Array.from({ length: 5 }, () => `${prefix} line ${this.n++}`);
    const sending = world.kafka.producer
      .send(
        Topics.logs,
        lines.map((msg) => ({
          key: `${prefix}@chaos:1`,
          value: { service: prefix, level: 'info', time: new Date().toISOString(), msg, instance: 'chaos:1' },
        })),
      )
      .then(
        () => {
          this.shipping.success();
          for (const line of lines) this.acked.add(line);
        },
        (error: unknown) => this.shipping.failure(error),
      );
    return [sending];
  }

  /** Copies of each line of the scenario in the store. */
  private async stored(): Promise<Map<string, number>> {
    const response = await fetch(
      `${this.ctx.world.logStore.url}/${this.ctx.world.logStore.indexPrefix}-*/_search?ignore_unavailable=true`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ size: 10_000, _source: ['message'], query: { term: { service: this.ctx.prefix } } }),
        signal: AbortSignal.timeout(10_000),
      },
    );
    if (!response.ok) throw new Error(`log store search: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
    const body = (await response.json()) as { hits: { hits: { _source: { message: string } }[] } };
    const copies = new Map<string, number>();
    for (const hit of body.hits.hits) copies.set(hit._source.message, (copies.get(hit._source.message) ?? 0) + 1);
    return copies;
  }

  async check(deadline: number): Promise<ProbeReport> {
    // (a search sees what the last refresh made visible: the store refreshes each index every second)
    const copies = await until(
      deadline,
      () => this.stored(),
      (ids) => countAgainst(this.acked, ids).lost === 0,
    );
    const store: SinkCount | { error: string } = isError(copies) ? copies : countAgainst(this.acked, copies);
    return {
      ok: !isError(store) && store.lost === 0 && store.duplicates === 0 && this.acked.size > 0,
      lines: { shipped: this.n, acknowledged: this.acked.size, store },
      shipping: {
        failed_attempts: this.shipping.failures,
        unavailable_s: this.shipping.unavailableSeconds(),
        errors: this.shipping.topErrors(),
      },
    };
  }
}

/**
 * kill-analytics: a run of `silver_activity` (Spark over the lake's bronze activity, one overwrite commit) is asked of
 * one analytics replica, which is killed once the run is under way. The other replica must fail the run as
 * INTERRUPTED once it stops reporting, a retry must succeed, and the output table must hold exactly the events of the
 * bronze version the retry read, written by the retry's commit.
 */
export class AnalyticsProbe implements Probe {
  private runId?: string;
  private victim?: Replica;
  private atKill = '';

  constructor(private readonly ctx: ProbeContext) {}

  private async run(runId: string): Promise<analyticsV1.JobRun | undefined> {
    return (await anyClient(this.ctx.world, 'analytics').call<analyticsV1.GetJobRunResponse>('GetJobRun', { runId }, { deadlineMs: 5_000 }))
      .run;
  }

  start(): void {
    // (the run is asked for at the fault, when bronze holds a part of the scenario's events)
  }

  async inject(): Promise<Fault> {
    const [victim] = running(this.ctx.world, 'analytics');
    const client = victim && this.ctx.world.clientOf(victim);
    if (!client) throw new Error('no analytics replica running');
    const { run } = await client.call<analyticsV1.RunJobResponse>('RunJob', { job: 'silver_activity' }, { deadlineMs: 10_000 });
    this.runId = run?.runId;
    this.victim = victim;
    // Killed while Spark writes its output (the one commit of a run), or after 60 s whatever it does then.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const state = await this.run(this.runId!).catch(() => undefined);
      if (state?.progress?.phase.startsWith('writing') || Date.now() > deadline) {
        this.atKill = state
          ? `${analyticsV1.RunState[state.state]}, ${state.progress?.phase ?? ''} (${state.progress?.operationsDone ?? 0} Spark operations done)`
          : 'unknown';
        break;
      }
      await sleep(200);
    }
    await victim.crash();
    return { detail: `kill -9 ${victim.id} running ${this.runId} (${this.atKill}); the supervisor starts it again` };
  }

  async stop(): Promise<void> {
    // (nothing of its own)
  }

  async check(deadline: number): Promise<ProbeReport> {
    const { world } = this.ctx;
    const runId = this.runId;
    if (!runId) return { ok: false, error: 'no run was started' };
    const done = (r: analyticsV1.JobRun | undefined) =>
      r?.state === analyticsV1.RunState.RUN_STATE_SUCCEEDED || r?.state === analyticsV1.RunState.RUN_STATE_FAILED;
    const killed = await until(deadline, () => this.run(runId), done);
    if (isError(killed) || !killed) return { ok: false, killed_run: killed ?? null };
    // A retry of the interrupted run (or a new run had it succeeded before the kill) must succeed.
    const retry = await anyClient(world, 'analytics').call<analyticsV1.RunJobResponse>(
      'RunJob',
      killed.state === analyticsV1.RunState.RUN_STATE_FAILED ? { job: 'silver_activity', retryOf: runId } : { job: 'silver_activity' },
      { deadlineMs: 10_000 },
    );
    const retried = await until(deadline, () => this.run(retry.run!.runId), done);
    if (isError(retried) || !retried) return { ok: false, killed_run: this.describe(killed), retry: retried ?? null };
    // The output: the retry's commit on top, holding exactly the events of the bronze version it read.
    const storage = new LocalLakeStorage(world.lakeRoot());
    const engine = await LakeEngine.create({ threads: 1 });
    try {
      const silver = await DeltaTable.open(storage, 'silver/activity', { engine });
      const bronze = await DeltaTable.open(storage, 'bronze/activity', { engine });
      const read = retried.inputs.find((i) => i.path === 'bronze/activity');
      const commits = (await silver.history()).map((h) => {
        const meta = typeof h.info['userMetadata'] === 'string' ? (JSON.parse(h.info['userMetadata']) as { pulse_run_id?: string }) : {};
        return { version: h.version, run: meta.pulse_run_id ?? '' };
      });
      const [silverRows] = await engine.query<{ n: number; ids: number }>(
        `SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS ids FROM ${await silver.scanSql()}`,
      );
      const [bronzeIds] = read
        ? await engine.query<{ ids: number }>(
            `SELECT count(DISTINCT event_id)::INT AS ids FROM ${await bronze.scanSql(await bronze.snapshotAt(Number(read.version)))}`,
          )
        : [{ ids: -1 }];
      // A commit the killed run made (Spark finishes an operation whose client died) is on its record, read again
      // now: the replica that failed it settles it just after.
      const killedNow = (await this.run(runId)) ?? killed;
      const recorded = new Set(killedNow.outputs.filter((o) => o.path === 'silver/activity').map((o) => Number(o.version)));
      const unrecorded = commits.filter((c) => c.run === runId && !recorded.has(c.version)).map((c) => c.version);
      const ok =
        retried.state === analyticsV1.RunState.RUN_STATE_SUCCEEDED &&
        commits[0]?.run === retried.runId &&
        unrecorded.length === 0 &&
        silverRows.n === bronzeIds.ids &&
        silverRows.ids === silverRows.n;
      return {
        ok,
        killed_run: this.describe(killedNow),
        retry: this.describe(retried),
        // versions of the output the killed run committed that its record does not name
        killed_run_commits_unrecorded: unrecorded,
        output: {
          rows: silverRows.n,
          distinct_events: silverRows.ids,
          bronze_events_at_version_read: bronzeIds.ids,
          bronze_version_read: read ? Number(read.version) : null,
          commits_newest_first: commits
            .slice(0, 5)
            .map((c) => `${c.version}: ${c.run === runId ? 'the killed run' : c.run === retried.runId ? 'the retry' : c.run}`),
        },
      };
    } finally {
      engine.close();
    }
  }

  private describe(r: analyticsV1.JobRun) {
    return {
      run: r.runId,
      state: analyticsV1.RunState[r.state],
      failure: r.failure ? `${analyticsV1.FailureKind[r.failure.kind]}: ${r.failure.message.slice(0, 200)}` : null,
      seconds:
        r.startedAt && r.finishedAt ? Math.round((timestampToMillis(r.finishedAt) - timestampToMillis(r.startedAt)) / 100) / 10 : null,
    };
  }
}
