/**
 * Faults under a checked workload on the replicated stack (tools/stack/ha), one JSON line per scenario:
 *
 *   tools/chaos/chaos [--scenarios a,b] [--seconds N] [--rate EVENTS_PER_S] [--row-rate ROWS_PER_S] [--out FILE] [--logs DIR]
 *
 * The built ingest (two replicas), storage, etl (bronze; and two replicas of the aggregates, one leader), the feature
 * store, the recommender, cdc (two replicas, one leader), experiments and privacy (two replicas) run against the
 * replicated stack under a supervisor that restarts a process that ended; the log indexer, analytics (two replicas),
 * the simulator and the console join when a scenario needs them. In each scenario the workload
 * (workload.ts) sends activity through ingest and rows into the app database for N seconds; a quarter of the way
 * in the fault is injected, at 60 % it is healed (where it has a heal), and after the load the harness waits for
 * every sink to hold every acknowledged write (at most CHAOS_CONVERGE_TIMEOUT, 180 s). Exit 1 when any scenario
 * lost an acknowledged write or left a duplicate in the lake or storage, or when the killed service broke a promise of
 * its own (probes.ts). See tools/chaos/README.md.
 */
import { aggregateTopic, cdcTopic, experimentsV1, Topics } from '@pulse/contracts';
import {
  createRedisClient,
  grpcClient,
  kafkaErrorMessage,
  keepConnected,
  PlatformaticKafkaClient,
  peerEnvPrefix,
  SERVICE_LIST,
  type UnaryClient,
} from '@pulse/platform';
import { deleteRedisKeys, groupsAtEnd, issueTestApiKey, runBuilt, stackCassandraClient, type TestApiKey } from '@pulse/platform/testing';
import type { Client as CassandraClient } from 'cassandra-driver';
import type Redis from 'ioredis';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client as PgClient } from 'pg';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  activityTopicCopies,
  cdcCopies,
  checkEngagementFeatures,
  countAgainst,
  type EngagementCheck,
  type EngagementWindows,
  lakeCopies,
  lateEventIds,
  recommenderCopies,
  type SinkCount,
  storageCopies,
} from './sinks';
import {
  AnalyticsProbe,
  ConsoleProbe,
  ErasureProbe,
  ExperimentsProbe,
  type Fault,
  LogsProbe,
  type Probe,
  type ProbeContext,
  type ProbeWorld,
  promotedVsPopular,
  SimulatorProbe,
} from './probes';
import { ActivityLoad, EventClock, ReadLoad, type ReplicaClient, RowLoad } from './workload';
import { activityStorageEnv, harnessEtlEnv, nodetool, Replica, retried, ROOT, sleep, stackEnv, stackFault, Supervisor } from './world';

const USAGE =
  'usage: tools/chaos/chaos [--scenarios a,b] [--seconds N] [--rate EVENTS_PER_S] [--row-rate ROWS_PER_S] [--out FILE] [--logs DIR] | --list';
/**
 * etl's windows whose results the feature store serves (post_engagement_1h, hourly): the watermark delay is the
 * default; the allowed lateness is raised from 5 to 30 minutes of event time, which runs up to 240 times faster than
 * the wall clock here (EventClock; 30 min: 7.5 s), so that a batch retried through a fault still counts.
 */
const ENGAGEMENT: EngagementWindows = {
  stream: 'agg_post_engagement_1h',
  sizeMs: 3_600_000,
  watermarkDelayMs: 120_000,
  allowedLatenessMs: 1_800_000,
};

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set by tools/stack/stack env --ha`);
  return value;
};

/**
 * The feature definitions of the run: feature_repo's, with post_engagement_1h's ttl raised from 2 hours to 7 days, as
 * the run's event time lies up to 6 days back (EventClock) and an expired value is served without its value.
 */
function featureRepo(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const source = join(ROOT, 'feature_repo');
  for (const file of readdirSync(source).filter((f) => f.endsWith('.yaml'))) {
    const definitions = parseYaml(readFileSync(join(source, file), 'utf8')) as { feature_views?: { name: string; ttl?: string }[] };
    for (const view of definitions.feature_views ?? []) if (view.name === 'post_engagement_1h') view.ttl = '7d';
    writeFileSync(join(dir, file), stringifyYaml(definitions));
  }
  return dir;
}

/** The simulator's world in the run's app schema (small: it is seeded while the platform runs). */
const SIMULATOR_WORLD = { users: 100, posts: 300, rate: 20 };

/**
 * The services started only for the scenarios that need them: the log indexer and analytics (their engines,
 * OpenSearch and Spark, are the default stack's, started then), the simulator and the console (their events carry the wall clock's time: see World.ensure).
 */
type LateService = 'logs' | 'analytics' | 'simulator' | 'console';

/** Starts one server of the default stack (`tools/stack/stack up <server>`) and returns a variable of its environment. */
async function defaultStackServer(server: string, variable: string): Promise<string> {
  const stack = join(ROOT, 'tools', 'stack', 'stack');
  await promisify(execFile)(stack, ['up', server], { cwd: ROOT, timeout: 900_000 });
  const { stdout } = await promisify(execFile)(stack, ['env'], { cwd: ROOT });
  const value = new RegExp(`^export ${variable}=(\\S+)$`, 'm').exec(stdout)?.[1];
  if (!value) throw new Error(`tools/stack/stack env gives no ${variable}`);
  return value;
}

/** The platform under test: its replicas, clients and the run's own schema, keyspace, lake and groups. */
class World implements ProbeWorld {
  readonly run = randomUUID().replace(/-/g, '').slice(0, 8);
  readonly schema = `chaos_${this.run}`;
  readonly keyspace = `chaos_${this.run}`;
  readonly dir = mkdtempSync(join(tmpdir(), `pulse-chaos-${this.run}-`));
  readonly pgUrl = env('PG_URL');
  readonly supervisor = new Supervisor();
  readonly kafka = new PlatformaticKafkaClient({ brokers: env('KAFKA_BROKERS').split(','), clientId: `pulse-chaos-${this.run}` });
  /** The recommender's Redis prefix (its users' live state). */
  readonly recsPrefix = `pulse:chaos:${this.run}:recs:`;
  cassandra?: CassandraClient;
  redis?: Redis;
  /** The experiment of the run: every user of its layer is in it (the recommender assigns and tags each list). */
  experiment?: experimentsV1.Experiment;
  readonly simulatorUsers = SIMULATOR_WORLD.users;
  /** Where the log indexer writes (kill-logs): the default stack's OpenSearch, the run's own indices. */
  readonly logStore = { url: '', indexPrefix: `chaos-${this.run}-logs` };
  private late = new Map<LateService, () => Promise<void>>();
  private stopRedisWatch = () => undefined as void;
  private keys: TestApiKey[] = [];
  private readonly clients = new Map<Replica, UnaryClient>();
  /** A service's client as one behind a load balancer has: one channel, round robin over every replica's address. */
  private readonly balanced = new Map<'storage' | 'recommender', UnaryClient>();

  /** `logDir`: where each service process's output is kept (at LOG_LEVEL info); none: not kept, services log warnings. */
  constructor(private readonly logDir?: string) {}

  private replica(id: string, service: string, env: Record<string, string>, onStart?: (replica: Replica) => void): Replica {
    return this.supervisor.add(new Replica(id, service, env, onStart, this.logDir && join(this.logDir, this.run)));
  }

  async start(): Promise<void> {
    // The client's key, and the recommender's own for its calls to storage and the feature store.
    const key = await issueTestApiKey({
      label: 'chaos',
      scopes: ['events:write', 'storage:read', 'features:read', 'recs:read'],
      pgUrl: this.pgUrl,
    });
    const recsKey = await issueTestApiKey({
      label: 'chaos-recommender',
      scopes: ['storage:read', 'features:read', 'experiments:read'],
      pgUrl: this.pgUrl,
    });
    // An operator (experiments, erasures, the simulator's status) and the other services' own credentials.
    const operator = await issueTestApiKey({ label: 'chaos-operator', scopes: ['admin'], pgUrl: this.pgUrl });
    const experimentsKey = await issueTestApiKey({ label: 'chaos-experiments', scopes: ['recs:read'], pgUrl: this.pgUrl });
    const privacyKey = await issueTestApiKey({ label: 'chaos-privacy', scopes: ['privacy:erase'], pgUrl: this.pgUrl });
    const simulatorKey = await issueTestApiKey({
      label: 'chaos-simulator',
      scopes: ['events:write', 'recs:read', 'storage:write'],
      pgUrl: this.pgUrl,
    });
    const consoleKey = await issueTestApiKey({
      label: 'chaos-console',
      scopes: ['events:write', 'storage:read', 'features:read', 'recs:read', 'ops:read'],
      pgUrl: this.pgUrl,
    });
    const analyticsKey = await issueTestApiKey({ label: 'chaos-analytics', scopes: ['features:write'], pgUrl: this.pgUrl });
    this.keys = [key, recsKey, operator, experimentsKey, privacyKey, simulatorKey, consoleKey, analyticsKey];
    const common = { LOG_LEVEL: this.logDir ? 'info' : 'warn', PULSE_AUTH_PG_URL: this.pgUrl };
    const connect =
      (protoFile: string, service: string, credentials = key.key) =>
      (replica: Replica) => {
        this.clients.get(replica)?.close();
        this.clients.set(replica, grpcClient(replica.grpcAddress!, protoFile, service, { credentials }));
      };
    const ingest = connect('pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService');
    const storage = connect('pulse/storage/v1/storage_service.proto', 'pulse.storage.v1.StorageService');
    const features = connect('pulse/features/v1/features_service.proto', 'pulse.features.v1.FeaturesService');
    const recs = connect('pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService');

    await runBuilt('cdc', 'migrate.js', { PG_URL: this.pgUrl, CDC_SCHEMA: this.schema });
    const cdcEnv = {
      ...common,
      CDC_SCHEMA: this.schema,
      CDC_SLOT: this.schema,
      CDC_PUBLICATION: this.schema,
      CDC_SERVER_NAME: this.schema,
      CDC_STATE_SCHEMA: `${this.schema}_state`,
      LEADER_ELECTION: 'true',
    };
    const ingestEnv = { ...common, INGEST_DEDUP_KEY_PREFIX: `pulse:chaos:${this.run}:` };
    const etlPrefix = `chaos-${this.run}.`;
    const etlEnv = { ...common, ...harnessEtlEnv(this.lakeRoot(), etlPrefix) };
    const replicas = [
      this.replica('ingest-1', 'ingest', ingestEnv, ingest),
      this.replica('ingest-2', 'ingest', ingestEnv, ingest),
      this.replica('cdc-1', 'cdc', cdcEnv),
      this.replica('cdc-2', 'cdc', cdcEnv),
    ];
    // Ingest first (it creates the activity topic with RF 3, min ISR 2), then the consumers' groups start at its end.
    await Promise.all(replicas.map((r) => r.start()));
    const activityGroup = `chaos-activity-${this.run}`;
    const liveGroup = `chaos-recs-live-${this.run}`;
    const featuresGroup = `chaos-fs-${this.run}`;
    // The aggregates topics the feature store reads are etl's, shared (the feature registry names them); this run's
    // posts are its own.
    const aggregates = ['post_engagement_1h', 'user_actions_1h', 'user_sessions'].map((a) => aggregateTopic(a));
    // (retried: right after ingest created the topic, its partitions may still be electing their leaders)
    await retried("consumer groups placed at the topics' ends", async () => {
      await this.kafka.admin.ensureTopics([Topics.activityLate]);
      const activityGroups = [
        activityGroup,
        liveGroup,
        ...['activity_bronze', ...aggregates.map((a) => `agg_${a.name.split('.')[2]}`)].map((s) => `${etlPrefix}${s}`),
      ];
      await groupsAtEnd(this.kafka, activityGroups, [Topics.activityTracked]);
      await groupsAtEnd(this.kafka, [featuresGroup], aggregates);
    });
    // Storage and the recommender: two replicas each, their peers calling both (round robin over the addresses).
    const storageEnv = { ...common, ...activityStorageEnv(this.keyspace, activityGroup, join(this.dir, 'media')) };
    const consumers = [
      this.replica('storage-1', 'storage', storageEnv, storage),
      this.replica('storage-2', 'storage', storageEnv, storage),
      this.replica('etl-1', 'etl', { ...etlEnv, ETL_AGGREGATE_STREAMS: 'false' }),
      // The window aggregates: a singleton, two replicas electing a leader.
      ...['etl-agg-1', 'etl-agg-2'].map((id) =>
        this.replica(id, 'etl', {
          ...etlEnv,
          ETL_BRONZE_STREAMS: 'false',
          ETL_EXPERIMENT_STREAM: 'false',
          ETL_ALLOWED_LATENESS: `${ENGAGEMENT.allowedLatenessMs / 60_000}m`,
          ETL_WATERMARK_DELAY: `${ENGAGEMENT.watermarkDelayMs / 60_000}m`,
          LEADER_ELECTION: 'true',
        }),
      ),
    ];
    const featuresEnv = {
      ...common,
      LAKE_ROOT: this.lakeRoot(),
      FEATURE_STORE_PG_SCHEMA: `${this.schema}_fs`,
      FEATURE_STORE_REPO_DIR: featureRepo(join(this.dir, 'feature_repo')),
      FEATURE_STORE_REDIS_PREFIX: `pulse:chaos:${this.run}:fs:`,
      FEATURE_STORE_AGGREGATES_GROUP: featuresGroup,
    };
    await runBuilt('feature-store', 'migrate.js', featuresEnv);
    await runBuilt('feature-store', 'registry-cli.js', featuresEnv, ['apply']);
    const featureStore = this.replica('features-1', 'feature-store', featuresEnv, features);
    await Promise.all([...consumers, featureStore].map((r) => r.start()));
    const storageAddress = this.addresses('storage');
    // The experiments service and the recommender call each other: both take their ports first.
    const experimentsEnv: Record<string, string> = {
      ...common,
      EXPERIMENTS_PG_SCHEMA: `${this.schema}_exp`,
      EXPERIMENTS_AUTO_MIGRATE: 'true',
      LAKE_ROOT: this.lakeRoot(),
      PULSE_API_KEY: experimentsKey.key,
    };
    const experiments = await this.replica(
      'experiments-1',
      'experiments',
      experimentsEnv,
      connect('pulse/experiments/v1/experiments_service.proto', 'pulse.experiments.v1.ExperimentsService', operator.key),
    ).reserve();
    const recommenderEnv = {
      ...common,
      PULSE_API_KEY: recsKey.key,
      RECS_MODELS_DIR: join(this.dir, 'models'),
      RECS_LAKE_ROOT: this.lakeRoot(),
      RECS_REDIS_PREFIX: this.recsPrefix,
      RECS_LIVE_GROUP: liveGroup,
      RECS_CATALOG_GROUP: `chaos-recs-catalog-${this.run}`,
      RECS_CDC_SCHEMA: this.schema,
      // every action of a scenario's user is kept, so that each can be looked for
      RECS_RECENT_ACTIONS: '10000',
      STORAGE_GRPC_ADDR: storageAddress,
      FEATURES_GRPC_ADDR: featureStore.peerAddress,
      EXPERIMENTS_GRPC_ADDR: experiments.peerAddress,
      RECS_EXPERIMENTS_POLL: '1s',
    };
    const recommenders = await Promise.all(
      ['recommender-1', 'recommender-2'].map((id) => this.replica(id, 'recommender', recommenderEnv, recs).reserve()),
    );
    const recommenderAddress = this.addresses('recommender');
    experimentsEnv['RECS_GRPC_ADDR'] = recommenderAddress;
    await experiments.start();
    // Every user of the run in one experiment: half served the promoted pipeline, half the popularity list.
    const operatorClient = this.clients.get(experiments)!;
    const { experiment } = await operatorClient.call<experimentsV1.CreateExperimentResponse>('CreateExperiment', {
      experiment: promotedVsPopular(`chaos ${this.run}`, `chaos-${this.run}`, 100),
    });
    this.experiment = (
      await operatorClient.call<experimentsV1.StartExperimentResponse>('StartExperiment', { id: experiment!.id })
    ).experiment;
    // Erasures: two replicas, both workers (a job is taken under an advisory lock).
    const privacyEnv = {
      ...common,
      PRIVACY_PG_SCHEMA: `${this.schema}_privacy`,
      PRIVACY_AUTO_MIGRATE: 'true',
      PRIVACY_APP_SCHEMA: this.schema,
      STORAGE_GRPC_ADDR: storageAddress,
      FEATURES_GRPC_ADDR: featureStore.peerAddress,
      PRIVACY_REDIS_USER_KEYS: `${this.recsPrefix}u:{user}:*,${this.recsPrefix}a:{user}`,
      PRIVACY_REDIS_REFERENCES: `${this.recsPrefix}u:*:muted=member,${this.recsPrefix}post:*=part:2,${this.recsPrefix}u:*:acts=element:USER|`,
      PRIVACY_MODELS_DIR: join(this.dir, 'models'),
      LAKE_ROOT: this.lakeRoot(),
      PRIVACY_LAKE_PURGE_MIN_AGE: '2s',
      // long enough for the events in flight at the erasure to reach every consumer
      PRIVACY_VERIFY_DELAY: '5s',
      PRIVACY_POLL_INTERVAL: '500ms',
      PRIVACY_WORKER: 'true',
      PULSE_API_KEY: privacyKey.key,
    };
    const privacy = connect('pulse/privacy/v1/privacy_service.proto', 'pulse.privacy.v1.PrivacyService', operator.key);
    await Promise.all([
      ...recommenders.map((r) => r.start()),
      this.replica('privacy-1', 'privacy', privacyEnv, privacy).start(),
      this.replica('privacy-2', 'privacy', privacyEnv, privacy).start(),
    ]);
    this.balanced.set(
      'storage',
      grpcClient(storageAddress, 'pulse/storage/v1/storage_service.proto', 'pulse.storage.v1.StorageService', { credentials: key.key }),
    );
    this.balanced.set(
      'recommender',
      grpcClient(recommenderAddress, 'pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService', { credentials: key.key }),
    );
    // The simulator and the console, started by the first scenario that needs them.
    const simulator = await this.replica(
      'simulator-1',
      'simulator',
      {
        ...common,
        PULSE_API_KEY: simulatorKey.key,
        SIMULATOR_PG_SCHEMA: `${this.schema}_sim`,
        SIMULATOR_AUTO_MIGRATE: 'true',
        SIMULATOR_APP_SCHEMA: this.schema,
        INGEST_GRPC_ADDR: this.supervisor.all('ingest')[0].peerAddress,
        RECS_GRPC_ADDR: recommenderAddress,
        STORAGE_GRPC_ADDR: storageAddress,
        SIMULATOR_USERS: String(SIMULATOR_WORLD.users),
        SIMULATOR_POSTS: String(SIMULATOR_WORLD.posts),
        SIMULATOR_RATE: String(SIMULATOR_WORLD.rate),
        SIMULATOR_MEDIA_UPLOADS: 'false',
      },
      connect('pulse/simulator/v1/simulator_service.proto', 'pulse.simulator.v1.SimulatorService', operator.key),
    ).reserve();
    this.late.set('simulator', () => simulator.start());
    // Where the console finds each peer of the run: gRPC on every replica of storage and the recommender (round
    // robin), of the others the first; HTTP (health, metrics) on the first.
    const balancedServices = new Set(['storage', 'recommender']);
    const peers = (service: string) => {
      const [first] = this.supervisor.all(service);
      return {
        [`${peerEnvPrefix(service)}_GRPC_ADDR`]: balancedServices.has(service) ? this.addresses(service) : first.peerAddress,
        [`${peerEnvPrefix(service)}_HTTP_URL`]: first.httpUrl,
      };
    };
    const consoleReplica = await this.replica('console-1', 'console', {
      ...common,
      PULSE_API_KEY: consoleKey.key,
      ...Object.assign(
        {},
        ...['ingest', 'cdc', 'etl', 'privacy', 'storage', 'feature-store', 'recommender', 'experiments', 'simulator'].map(peers),
      ),
    }).reserve();
    this.late.set('console', () => consoleReplica.start());
    this.late.set('logs', async () => {
      // The log store: one OpenSearch node of the default stack (the indexer is what is killed, not the store).
      this.logStore.url = await defaultStackServer('opensearch', 'OPENSEARCH_URL');
      const group = `chaos-logs-${this.run}`;
      await retried('the log indexer placed at the end of the logs topic', async () => {
        await this.kafka.admin.ensureTopics([Topics.logs]);
        await groupsAtEnd(this.kafka, [group], [Topics.logs]);
      });
      await this.replica('logs-1', 'logs', {
        ...common,
        OPENSEARCH_URL: this.logStore.url,
        LOGS_INDEX_PREFIX: this.logStore.indexPrefix,
        LOGS_CONSUMER_GROUP: group,
        LOGS_INDEX_REPLICAS: '0',
      }).start();
    });
    this.late.set('analytics', async () => {
      // Spark Connect in local mode, the default stack's (a job's driver is what is killed, not Spark).
      const analyticsEnv = {
        ...common,
        SPARK_REMOTE: await defaultStackServer('spark', 'SPARK_REMOTE'),
        ANALYTICS_PG_SCHEMA: `${this.schema}_analytics`,
        ANALYTICS_AUTO_MIGRATE: 'true',
        LAKE_ROOT: this.lakeRoot(),
        FEATURES_GRPC_ADDR: featureStore.peerAddress,
        PULSE_API_KEY: analyticsKey.key,
        ANALYTICS_SCHEDULES_ENABLED: 'false',
        ANALYTICS_SCHEDULER_TICK: '2s',
        // a run reports at least every 15 s
        ANALYTICS_RUN_HEARTBEAT_TIMEOUT: '40s',
      };
      const analytics = connect('pulse/analytics/v1/analytics_service.proto', 'pulse.analytics.v1.AnalyticsService', operator.key);
      // (one after the other: the first applies the migrations)
      await this.replica('analytics-1', 'analytics', analyticsEnv, analytics).start();
      await this.replica('analytics-2', 'analytics', analyticsEnv, analytics).start();
    });
    this.cassandra = stackCassandraClient({ keyspace: this.keyspace });
    this.redis = createRedisClient({
      url: env('REDIS_URL'),
      sentinels: process.env['REDIS_SENTINELS']?.split(','),
      sentinelMaster: process.env['REDIS_SENTINEL_MASTER'],
    });
    // (a failover makes it reconnect — or end, which keepConnected undoes: the checks that read through it are retried
    // until the run's deadline)
    this.redis.on('error', () => undefined);
    this.stopRedisWatch = keepConnected(this.redis);
    await this.redis.connect();
    this.supervisor.start();
  }

  /**
   * Starts the services a scenario needs that are not running yet. The simulator's and the console's events carry the
   * wall clock's time, which moves etl's window watermarks past the run's event clock: from then on the run's own
   * events are late for the window aggregates, so the scenarios that need them come last and check no features.
   */
  async ensure(services: readonly LateService[]): Promise<void> {
    for (const service of services) {
      const start = this.late.get(service);
      this.late.delete(service);
      await start?.();
    }
  }

  /** Whether an event of the wall clock's time went through the platform (the window aggregates' checks are moot). */
  get wallClockEventsSeen(): boolean {
    return !this.late.has('simulator') || !this.late.has('console');
  }

  /** Every replica's gRPC address, as one peer address (round robin over them: channelTarget of @pulse/platform). */
  private addresses(service: string): string {
    return this.supervisor
      .all(service)
      .map((r) => r.peerAddress)
      .join(',');
  }

  /** The client of storage or the recommender that a caller behind a load balancer has (every replica, round robin). */
  balancedClient(service: 'storage' | 'recommender'): UnaryClient | undefined {
    return this.balanced.get(service);
  }

  clientOf(replica: Replica): UnaryClient | undefined {
    return replica.running ? this.clients.get(replica) : undefined;
  }

  /** Clients of the running replicas of a service, with the replica's id. */
  clientsOf(service: 'ingest' | 'storage' | 'feature-store' | 'recommender'): ReplicaClient[] {
    return this.supervisor.all(service).flatMap((r) => {
      const client = this.clients.get(r);
      return r.running && client ? [{ replica: r.id, client }] : [];
    });
  }

  lakeRoot(): string {
    return join(this.dir, 'lake');
  }

  async stop(): Promise<void> {
    for (const c of [...this.clients.values(), ...this.balanced.values()]) c.close();
    await this.supervisor.stop();
    await this.cassandra?.shutdown().catch(() => undefined);
    await this.kafka.close().catch(() => undefined);
    for (const key of this.keys) await key.remove().catch(() => undefined);
    if (this.redis) {
      // The run's Redis keys (ingest's dedupe, the feature store's rows, the recommender's state) go with it.
      await deleteRedisKeys(this.redis, `pulse:chaos:${this.run}:`).catch(() => undefined);
      this.stopRedisWatch();
      this.redis.disconnect();
    }
    const pg = new PgClient({ connectionString: this.pgUrl });
    await pg.connect();
    try {
      await pg
        .query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [this.schema])
        .catch(() => undefined);
      await pg.query(`DROP PUBLICATION IF EXISTS ${this.schema}`).catch(() => undefined);
      await pg.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`).catch(() => undefined);
      await pg.query(`DROP SCHEMA IF EXISTS ${this.schema}_state CASCADE`).catch(() => undefined);
      await pg.query(`DROP SCHEMA IF EXISTS ${this.schema}_fs CASCADE`).catch(() => undefined);
    } finally {
      await pg.end();
    }
    const cassandra = stackCassandraClient();
    await cassandra.execute(`DROP KEYSPACE IF EXISTS ${this.keyspace}`).catch(() => undefined);
    await cassandra.shutdown();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface Scenario {
  name: string;
  describe: string;
  /** The fault (a scenario with a probe has its probe inject it). */
  inject?(world: World): Promise<Fault>;
  /** The killed service's own check (probes.ts): a load of its own, the fault at the right moment, what must hold. */
  probe?: (context: ProbeContext) => Probe;
  /** Services started for it (World.ensure); a scenario needing the simulator or the console comes last (their events carry the wall clock's time). */
  needs?: LateService[];
}

const crashOne = (service: string, pick: (replicas: Replica[]) => Promise<Replica | undefined> = async (r) => r[0]) => {
  return async (world: World): Promise<Fault> => {
    const replica = await pick(world.supervisor.all(service).filter((r) => r.running));
    if (!replica) throw new Error(`no running ${service} replica to kill`);
    await replica.crash();
    return { detail: `kill -9 ${replica.id} (the supervisor starts it again)` };
  };
};

/** kill -9 of an instance of the replicated stack, healed by starting it again (then `afterStart`, if given). */
const killInstance = async (instance: string, afterStart?: () => Promise<string>): Promise<Fault> => {
  await stackFault('kill', instance);
  return {
    detail: `kill -9 ${instance}`,
    heal: async () => {
      await stackFault('start', instance);
      return [`${instance} started`, ...(afterStart ? [await afterStart()] : [])].join('; ');
    },
  };
};

const redisPrimary = async (): Promise<string> => {
  const { stdout } = await promisify(execFile)('redis-cli', ['-p', '36381', 'SENTINEL', 'get-master-addr-by-name', 'pulse']);
  const port = Number(stdout.trim().split('\n')[1]);
  return `redis-${port - 36378}`;
};

const SCENARIOS: Scenario[] = [
  { name: 'kill-ingest', describe: 'kill -9 of one of two ingest replicas', inject: crashOne('ingest') },
  {
    name: 'kill-storage',
    describe: 'kill -9 of one of the two storage replicas (consumers of the activity, serving reads behind round robin)',
    inject: crashOne('storage'),
  },
  {
    name: 'kill-etl',
    describe: "kill -9 of etl (the lake's bronze writer)",
    inject: crashOne('etl', async (r) => r.find((e) => e.id === 'etl-1')),
  },
  {
    name: 'kill-etl-aggregates-leader',
    describe: "kill -9 of the etl replica leading the window aggregates; the standby takes over from the table's state",
    inject: crashOne('etl', async (replicas) => {
      for (const r of replicas) if (r.id.startsWith('etl-agg-') && (await r.isLeader())) return r;
      return undefined;
    }),
  },
  {
    name: 'kill-feature-store',
    describe: 'kill -9 of the feature store (it pushes the windows online); it resumes from its group',
    inject: crashOne('feature-store'),
  },
  {
    name: 'kill-recommender',
    describe: 'kill -9 of one of the two recommender replicas (serving, and consumers of live activity); the other takes its calls',
    inject: crashOne('recommender'),
  },
  {
    name: 'kill-cdc-leader',
    describe: 'kill -9 of the cdc replica holding the leadership; the standby takes over the slot',
    inject: crashOne('cdc', async (replicas) => {
      for (const r of replicas) if (await r.isLeader()) return r;
      return undefined;
    }),
  },
  {
    name: 'kill-privacy',
    describe: 'kill -9 of both privacy replicas while they erase three users; the restarted workers finish every job',
    probe: (context) => new ErasureProbe(context),
  },
  {
    name: 'kill-experiments',
    describe: "kill -9 of the experiments service; the recommender keeps tagging lists with each user's variant",
    probe: (context) => new ExperimentsProbe(context),
  },
  {
    name: 'kill-logs',
    describe: 'kill -9 of the log indexer; every log line Kafka acknowledged is in the log store once',
    probe: (context) => new LogsProbe(context),
    needs: ['logs'],
  },
  {
    name: 'kill-analytics',
    describe: 'kill -9 of the analytics replica running a Spark job; the other fails the run as interrupted, a retry succeeds',
    probe: (context) => new AnalyticsProbe(context),
    needs: ['analytics'],
  },
  {
    name: 'kafka-broker',
    describe: 'kill -9 of broker kafka-2, started again at 60 %',
    inject: () => killInstance('kafka-2'),
  },
  {
    name: 'kafka-partition',
    describe: 'broker kafka-2 cut off from clients and its peers (iptables; it keeps running), healed at 60 %',
    inject: async () => {
      await stackFault('partition', 'kafka-2');
      return {
        detail: 'kafka-2 partitioned',
        heal: async () => {
          await stackFault('heal', 'kafka-2');
          return 'kafka-2 reachable again';
        },
      };
    },
  },
  {
    name: 'cassandra-node',
    describe: 'kill -9 of cassandra-3 (one of three replicas: LOCAL_QUORUM still holds), started again at 60 % and repaired',
    inject: (world) =>
      killInstance('cassandra-3', async () => {
        const started = Date.now();
        await nodetool(3, ['repair', world.keyspace]);
        return `nodetool repair ${world.keyspace} on it took ${((Date.now() - started) / 1000).toFixed(1)} s`;
      }),
  },
  {
    name: 'redis-primary',
    describe: 'kill -9 of the Redis primary; Sentinel promotes the replica; the old primary comes back as a replica at 60 %',
    inject: async () => killInstance(await redisPrimary(), async () => `primary now ${await redisPrimary().catch(() => 'unknown')}`),
  },
  {
    name: 'postgres-restart',
    describe: 'kill -9 of the PostgreSQL primary, started again at 60 % (cdc resumes from its slot)',
    inject: () => killInstance('postgres-1'),
  },
  // Last: the simulator's and the console's events carry the wall clock's time (World.ensure).
  {
    name: 'kill-simulator',
    describe: 'kill -9 of the simulator; it loads its world back (not seeded again) and its users act again',
    probe: (context) => new SimulatorProbe(context),
    needs: ['simulator'],
  },
  {
    name: 'kill-console',
    describe: "kill -9 of the console while it is used; every like it acknowledged is in storage's activity",
    probe: (context) => new ConsoleProbe(context),
    needs: ['simulator', 'console'],
  },
];

/** The services the harness runs (and builds): every service (kill -9 of each is a scenario). */
const SERVICES = SERVICE_LIST.map((service) => service.name);

interface Args {
  scenarios: Scenario[];
  seconds: number;
  rate: number;
  rowRate: number;
  out?: string;
  logs?: string;
}

/** A wrong command line: its message is all the user needs. */
class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const args: Args = { scenarios: SCENARIOS, seconds: 60, rate: 200, rowRate: 20 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--scenarios') {
      const names = value().split(',').filter(Boolean);
      const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
      if (unknown.length > 0)
        throw new UsageError(`unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
      args.scenarios = SCENARIOS.filter((s) => names.includes(s.name));
    } else if (a === '--seconds') args.seconds = Number(value());
    else if (a === '--rate') args.rate = Number(value());
    else if (a === '--row-rate') args.rowRate = Number(value());
    else if (a === '--out') args.out = value();
    else if (a === '--logs') args.logs = value();
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (a === '--list') {
      for (const s of SCENARIOS) console.log(`${s.name.padEnd(18)} ${s.describe}`);
      process.exit(0);
    } else throw new UsageError(`unknown argument ${a}\n${USAGE}`);
  }
  for (const [name, v, min] of [
    ['--seconds', args.seconds, 20],
    ['--rate', args.rate, 10],
    ['--row-rate', args.rowRate, 1],
  ] as const)
    if (!Number.isFinite(v) || v < min) throw new UsageError(`${name} must be a number of at least ${min}\n${USAGE}`);
  return args;
}

const seconds = (ms: number | undefined) => (ms === undefined ? null : Math.round(ms / 100) / 10);

async function runScenario(
  world: World,
  scenario: Scenario,
  index: number,
  args: Args,
  clock: EventClock,
): Promise<Record<string, unknown>> {
  const prefix = `${world.run}-${scenario.name}`;
  await world.ensure(scenario.needs ?? []);
  // (retried: right after a broker's fault the partitions' leaders may still be moving)
  const ends = (topic: string) => retried(`the end offsets of ${topic}`, () => world.kafka.admin.endOffsets(topic));
  const activitySince = await ends(Topics.activityTracked.name);
  const lateSince = await ends(Topics.activityLate.name);
  const cdcSince = await ends(cdcTopic('users', world.schema).name);
  const restartsBefore = new Map(world.supervisor.all().map((r) => [r.id, r.restarts]));
  const t0 = Date.now();
  const activity = new ActivityLoad(() => world.clientsOf('ingest'), {
    prefix,
    rate: args.rate,
    users: 50,
    posts: 20,
    clock,
    retryForMs: 180_000,
  });
  const rows = new RowLoad(world.pgUrl, world.schema, `s${index}`, args.rowRate);
  const balanced = (service: 'storage' | 'recommender') => () => world.balancedClient(service);
  const reads = new ReadLoad('storage', balanced('storage'), activity.userIds(), (client, userId) =>
    client.call('ListActivity', { userId, pageSize: 10 }, { deadlineMs: 2_000 }),
  );
  const recommends = new ReadLoad('recommender', balanced('recommender'), activity.userIds(), (client, userId) =>
    client.call('Recommend', { userId, numResults: 10 }, { deadlineMs: 2_000 }),
  );

  const probe = scenario.probe?.({ world, prefix, clock, activity });

  const at = (share: number) => sleep(Math.max(0, t0 + args.seconds * 1000 * share - Date.now()));
  activity.start();
  rows.start();
  reads.start();
  recommends.start();
  probe?.start();
  await at(0.25);
  const faultAt = Date.now();
  const fault = probe ? await probe.inject() : await scenario.inject!(world);
  await at(0.6);
  let healed: string | undefined;
  let healAt: number | undefined;
  if (fault.heal) {
    healAt = Date.now();
    healed = await fault.heal();
  }
  await at(1);
  reads.stop();
  recommends.stop();
  await Promise.all([activity.stop(), rows.stop(), probe?.stop()]);
  const loadEnd = Date.now();

  // Wait until the lake, storage and the recommender's live state hold every acknowledged event (the topics are read
  // once they do), then until the feature store's counts are right.
  // (storage's activity is partitioned by the UTC day of its event time)
  const days = [...new Set([...activity.sent.values()].map((e) => Math.floor(e.occurredAt / 86_400_000)))];
  const timeout = Number(process.env['CHAOS_CONVERGE_TIMEOUT'] ?? 180) * 1000;
  let lake: SinkCount;
  let storage: SinkCount;
  let recommender: SinkCount;
  let lakeIds: Map<string, number>;
  let storageIds: Map<string, number>;
  let recommenderIds: Map<string, number>;
  for (;;) {
    lakeIds = await lakeCopies(world.lakeRoot(), prefix).catch(() => new Map());
    storageIds = await storageCopies(world.cassandra!, activity.userIds(), days).catch(() => new Map());
    recommenderIds = await recommenderCopies(world.redis!, world.recsPrefix, activity.sent, activity.userIds()).catch(() => new Map());
    lake = countAgainst(activity.acked, lakeIds);
    storage = countAgainst(activity.acked, storageIds);
    recommender = countAgainst(activity.acked, recommenderIds);
    if ((lake.lost === 0 && storage.lost === 0 && recommender.lost === 0) || Date.now() - loadEnd > timeout) break;
    await sleep(2_000);
  }
  const convergedAt = Date.now();
  const topicIds = await activityTopicCopies(world.kafka, prefix, activity.acked, activitySince);
  const kafka = countAgainst(activity.acked, topicIds);
  let features: EngagementCheck | { error: string } | { skipped: string };
  // (after the simulator or the console ran, the run's events are late for the windows: nothing to check there)
  const checkFeatures = !world.wallClockEventsSeen;
  if (!checkFeatures)
    features = {
      skipped: "events of the wall clock's time (the simulator's, the console's) moved the windows' watermarks past the run's event clock",
    };
  else
    for (;;) {
      const featureStore = world.clientsOf('feature-store')[0]?.client;
      features = featureStore
        ? // (a failed read of the late topic, as a failed call, is tried again: it is not the scenario's failure)
          await lateEventIds(world.kafka, prefix, ENGAGEMENT.stream, lateSince)
            .then((late) => checkEngagementFeatures(featureStore, activity.postIds(), activity.sent, topicIds, late, ENGAGEMENT))
            .catch((error: unknown) => ({ error: kafkaErrorMessage(error) }))
        : { error: 'no feature-store replica running' };
      if (('correct' in features && features.correct === activity.postIds().length) || Date.now() - loadEnd > timeout) break;
      await sleep(2_000);
    }
  const featuresAt = Date.now();
  const service = await probe?.check(Date.now() + timeout);
  const cdc = countAgainst(rows.acked, await cdcCopies(world.kafka, world.schema, rows.acked, cdcSince, `s${index}`));
  const restarts = Object.fromEntries(
    world.supervisor
      .all()
      .map((r) => [r.id, r.restarts - (restartsBefore.get(r.id) ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
  const sinks = { kafka, lake, storage, recommender };
  // The first lost events, with how each was acknowledged and which sinks lack it (to find the cause in the logs).
  const lostEvents = [...activity.acked]
    .filter(([id]) => !topicIds.has(id) || !lakeIds.has(id) || !storageIds.has(id) || !recommenderIds.has(id))
    .slice(0, 20)
    .map(([id, ack]) => ({
      id,
      ...ack,
      at: seconds(ack.at - t0),
      missing_from: Object.entries({ kafka: topicIds, lake: lakeIds, storage: storageIds, recommender: recommenderIds })
        .filter(([, ids]) => !ids.has(id))
        .map(([sink]) => sink),
    }));
  const ok =
    Object.values(sinks).every((s) => s.lost === 0) &&
    lake.duplicates === 0 &&
    storage.duplicates === 0 &&
    cdc.lost === 0 &&
    (!checkFeatures ||
      ('correct' in features && features.correct === activity.postIds().length && features.checked === activity.postIds().length)) &&
    activity.acked.size > 0 &&
    (service?.ok ?? true);
  const lastWriteFailure = Math.max(activity.availability.lastFailureAt ?? 0, rows.availability.lastFailureAt ?? 0);
  return {
    scenario: scenario.name,
    fault: fault.detail,
    healed: healed ?? null,
    ok,
    events: {
      sent: activity.sent.size,
      acknowledged: activity.acked.size,
      failed_attempts: activity.availability.failures,
      unavailable_s: activity.availability.unavailableSeconds(),
      errors: activity.availability.topErrors(),
    },
    sinks,
    ...(lostEvents.length > 0 ? { lost_events: lostEvents } : {}),
    features: { posts: activity.postIds().length, ...features },
    ...(service ? { service } : {}),
    rows: {
      attempted: rows.attempted,
      acknowledged: rows.acked.size,
      failed_attempts: rows.availability.failures,
      unavailable_s: rows.availability.unavailableSeconds(),
      cdc_topic: cdc,
      errors: rows.availability.topErrors(),
    },
    reads: Object.fromEntries(
      Object.entries({ storage: reads, recommend: recommends }).map(([what, load]) => [
        what,
        {
          attempts: load.availability.attempts,
          failures: load.availability.failures,
          unavailable_s: load.availability.unavailableSeconds(),
          errors: load.availability.topErrors(),
        },
      ]),
    ),
    timeline_s: {
      fault: seconds(faultAt - t0),
      heal: healAt === undefined ? null : seconds(healAt - t0),
      load_end: seconds(loadEnd - t0),
      // from the fault to the last write that failed (0: no write failed)
      writes_recovered_after: lastWriteFailure > faultAt ? seconds(lastWriteFailure - faultAt) : 0,
      // from the end of the load until the lake, storage and the recommender held every acknowledged event
      sinks_converged_after: seconds(convergedAt - loadEnd),
      // …and until the feature store's counts were right
      features_converged_after: seconds(featuresAt - loadEnd),
    },
    restarts,
  };
}

/** Starts the replicated stack when it is not running, takes its environment, and builds the services run here. */
async function prepare(): Promise<void> {
  const root = ROOT;
  const exec = promisify(execFile);
  process.stderr.write('chaos: the replicated stack (tools/stack/stack up --ha)\n');
  await exec(join(root, 'tools', 'stack', 'stack'), ['up', '--ha'], { cwd: root, timeout: 1_200_000 });
  Object.assign(process.env, await stackEnv('env'));
  process.stderr.write('chaos: building the services\n');
  await exec('nx', ['run-many', '-t', 'build', '-p', ...SERVICES, '--output-style=static'], {
    cwd: root,
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
    timeout: 1_200_000,
    maxBuffer: 64 << 20,
  });
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  await prepare();
  const world = new World(args.logs);
  const started = Date.now();
  // One event time for the run's loads: etl's watermarks hold from one scenario to the next. Its budget is twice the
  // loads' planned time: a load lasts until its heal is done (cassandra-node's repair can triple it), and a clock that
  // reached the wall clock would stand still (no window would close in the scenarios after).
  const clock = new EventClock(2 * args.scenarios.length * args.seconds * 1000);
  let failed = 0;
  process.stderr.write(`chaos: starting the platform on the replicated stack (run ${world.run})\n`);
  try {
    await world.start();
    for (const [i, scenario] of args.scenarios.entries()) {
      process.stderr.write(`chaos: ${scenario.name}: ${scenario.describe}\n`);
      const report = await runScenario(world, scenario, i, args, clock).catch((error: unknown) => ({
        scenario: scenario.name,
        ok: false,
        error: String((error as Error).stack ?? error).slice(0, 2_000),
      }));
      if (!report['ok']) failed++;
      const line = JSON.stringify({ chaos: world.run, seconds: args.seconds, rate: args.rate, ...report });
      console.log(line);
      if (args.out) appendFileSync(args.out, `${line}\n`);
      // Let the platform settle (restarted replicas ready, the healed node back in) before the next fault.
      await sleep(10_000);
    }
  } finally {
    for (const line of world.supervisor.log) process.stderr.write(`chaos: ${line}\n`);
    await world.stop().catch((error: unknown) => process.stderr.write(`chaos: cleanup: ${String(error)}\n`));
  }
  process.stderr.write(
    `chaos: ${args.scenarios.length - failed} of ${args.scenarios.length} scenarios kept every acknowledged write (${Math.round((Date.now() - started) / 1000)} s)\n`,
  );
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const detail = error instanceof UsageError || !(error instanceof Error) ? '' : `\n${error.stack ?? ''}`;
    process.stderr.write(`chaos: ${kafkaErrorMessage(error)}${detail}\n`);
    process.exit(2);
  },
);
