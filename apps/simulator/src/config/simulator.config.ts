import { authEnv, env, loadConfig } from '@pulse/platform';
import { z } from 'zod';

/** Every environment variable of the simulator service; see apps/simulator/.env.example. */
export const simulatorConfigSchema = z.object({
  SERVICE_NAME: env.string('simulator'),
  LOG_LEVEL: env.logLevel(),
  /** gRPC listen address; port 0 picks a free port. */
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50057),
  /** HTTP for /health/live, /health/ready and /metrics. */
  HTTP_PORT: env.port(8087),
  /** Authentication of every RPC (PULSE_AUTH, PULSE_AUTH_*), this service's own PULSE_API_KEY, GRPC_REFLECTION. */
  ...authEnv,
  /** The one PostgreSQL database: the app schema the simulated users write, and the simulator's own schema. */
  PG_URL: env.url('postgres://pulse:pulse@127.0.0.1:25432/pulse'),
  /** The service's own PostgreSQL schema (seed marker, runs, the users' hidden tastes, schema_migrations). */
  SIMULATOR_PG_SCHEMA: env.identifier('simulator'),
  /** Apply pending migrations at start (the `migrate` target does it otherwise). */
  SIMULATOR_AUTO_MIGRATE: env.bool(false),
  /** Folder of the migrations; empty: beside the built program or apps/simulator/migrations. */
  SIMULATOR_MIGRATIONS_DIR: z.string().optional(),
  /** Schema of the app tables (users, posts, follows, comments of apps/cdc/migrations) the simulated users write. */
  SIMULATOR_APP_SCHEMA: env.identifier('public'),
  /** ingest (TrackEvents). */
  INGEST_GRPC_ADDR: env.address('127.0.0.1:50051'),
  /** recommender (Recommend). */
  RECS_GRPC_ADDR: env.address('127.0.0.1:50056'),
  /** storage (PutMedia). */
  STORAGE_GRPC_ADDR: env.address('127.0.0.1:50053'),
  /** Seed of the world and of the behaviour; the same seed gives the same world. */
  SIMULATOR_SEED: env.int(42, 0, 0xffffffff),
  /** Users in the seed world. */
  SIMULATOR_USERS: env.int(500, 10, 100_000),
  /** Posts in the seed world. */
  SIMULATOR_POSTS: env.int(3000, 0, 1_000_000),
  /** The seed posts' created_at spread over this much past. */
  SIMULATOR_SEED_HISTORY: env.duration('14d'),
  /** Target events per second at the daily average (0 starts paused; SetRate changes it). */
  SIMULATOR_RATE: env.number(50, 0, 10_000),
  /** Length of one simulated day: the rate follows a daily rhythm with this period (0s: no rhythm). */
  SIMULATOR_DAY_PERIOD: env.duration('1h'),
  /** Posts sometimes carry a small image uploaded through storage's PutMedia. */
  SIMULATOR_MEDIA_UPLOADS: env.bool(true),
  /** Deadline of one gRPC call to a peer (TrackEvents, Recommend, PutMedia). */
  SIMULATOR_RPC_DEADLINE: env.duration('2s'),
  /** Events per TrackEvents call at most. */
  SIMULATOR_BATCH_EVENTS: env.int(250, 1, 1000),
  /** A partial batch is sent after this long. */
  SIMULATOR_FLUSH_INTERVAL: env.duration('500ms'),
  /** Events waiting for ingest at most; sessions wait while the queue is this full (memory stays bounded). */
  SIMULATOR_MAX_QUEUED_EVENTS: env.int(2000, 10, 100_000),
  /** Sessions in flight at once. */
  SIMULATOR_MAX_CONCURRENT_SESSIONS: env.int(4, 1, 64),
  /** How often a summary line is logged. */
  SIMULATOR_LOG_INTERVAL: env.duration('10s'),
});

export type SimulatorConfig = z.infer<typeof simulatorConfigSchema>;

export const SIMULATOR_CONFIG = Symbol('SIMULATOR_CONFIG');

export function loadSimulatorConfig(overrides: Record<string, string | undefined> = {}): SimulatorConfig {
  return loadConfig('simulator', simulatorConfigSchema, { ...process.env, ...overrides });
}
