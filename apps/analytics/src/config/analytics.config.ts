import { authEnv, env, loadConfig } from '@pulse/platform';
import { z } from 'zod';
import { parseSparkRemote } from '../spark/spark-connect.client';
import { parseCron, parseScheduleOverrides } from '../schedules/cron';

/** Every environment variable of the analytics service; see apps/analytics/.env.example. */
export const analyticsConfigSchema = z.object({
  SERVICE_NAME: env.string('analytics'),
  LOG_LEVEL: env.logLevel(),
  /** gRPC listen address; port 0 picks a free port. */
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50061),
  /** HTTP for /health/live, /health/ready and /metrics. */
  HTTP_PORT: env.port(8091),
  /** Authentication of every RPC (PULSE_AUTH, PULSE_AUTH_*), this service's own PULSE_API_KEY, GRPC_REFLECTION. */
  ...authEnv,
  PG_URL: env.url('postgres://pulse:pulse@127.0.0.1:25432/pulse'),
  /** The service's own PostgreSQL schema (its tables and schema_migrations). */
  ANALYTICS_PG_SCHEMA: env.identifier('analytics'),
  /** Apply pending migrations at start (the `migrate` target does it otherwise). */
  ANALYTICS_AUTO_MIGRATE: env.bool(false),
  /** Folder of the migrations; empty: beside the built program or apps/analytics/migrations. */
  ANALYTICS_MIGRATIONS_DIR: z.string().optional(),
  /** The Spark Connect server: `sc://host:port[/;user_id=...;token=...;use_ssl=true]` (PySpark's SPARK_REMOTE). */
  SPARK_REMOTE: z
    .string()
    .default('sc://127.0.0.1:25002')
    .refine(
      (s) => {
        try {
          parseSparkRemote(s);
          return true;
        } catch {
          return false;
        }
      },
      { message: 'expected sc://host:port[/;param=value...]' },
    ),
  /**
   * The lake as Spark sees it: a directory (relative to the working directory, made absolute) or a URI Spark's
   * file systems read (`file:/...`, `s3a://bucket/lake`, `abfss://...`). The same tables the etl service writes
   * under its LAKE_ROOT.
   */
  LAKE_ROOT: env.string('tmp/lake'),
  /** The feature store, where pymk pushes its lists (FeaturesService/Push, with PULSE_API_KEY: features:write). */
  FEATURES_GRPC_ADDR: env.address('127.0.0.1:50055'),
  /** Rows per Push call (the feature store takes 1..1000). */
  ANALYTICS_PUSH_BATCH: env.int(500, 1, 1000),
  /** Whether this replica fires the jobs' cron schedules (every replica may; each firing runs once). */
  ANALYTICS_SCHEDULES_ENABLED: env.bool(true),
  /**
   * Schedule overrides, `job=cron;job=cron` (5-field cron, UTC; `off` for none), e.g.
   * `pagerank=0 *\/6 * * *;pymk=off`. Jobs not named keep their default schedule.
   */
  ANALYTICS_SCHEDULES: z
    .string()
    .default('')
    .transform((s, ctx) => {
      try {
        const overrides = parseScheduleOverrides(s);
        for (const cron of overrides.values()) if (cron) parseCron(cron);
        return overrides;
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    }),
  /** How often schedules are checked. */
  ANALYTICS_SCHEDULER_TICK: env.duration('15s'),
  /** Runs this replica executes at once; more wait as PENDING. One Spark local[2] serves one job well. */
  ANALYTICS_MAX_CONCURRENT_RUNS: env.int(1, 1, 16),
  /** A RUNNING or PENDING run whose replica has not reported for this long is failed as INTERRUPTED. */
  ANALYTICS_RUN_HEARTBEAT_TIMEOUT: env.duration('2m'),
});

export type AnalyticsConfig = z.infer<typeof analyticsConfigSchema>;

export const ANALYTICS_CONFIG = Symbol('ANALYTICS_CONFIG');

export function loadAnalyticsConfig(overrides: Record<string, string | undefined> = {}): AnalyticsConfig {
  return loadConfig('analytics', analyticsConfigSchema, { ...process.env, ...overrides });
}
