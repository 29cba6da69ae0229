import { runBuilt, type ServiceProcess, startService } from '@pulse/platform/testing';
import { join, resolve } from 'node:path';
import { KAFKA_BROKERS, PG_URL } from './app-database';

const REPO = resolve(__dirname, '../../../..');
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:26379';

/**
 * The built feature store of one run: its own PostgreSQL schema (migrated), the definitions of feature_repo applied,
 * its own Redis prefix and aggregates consumer group, the run's lake.
 */
export async function startFeatureStore(run: {
  schema: string;
  lake: string;
  redisPrefix: string;
  group: string;
  /** More settings of the service (tracing). */
  env?: Record<string, string>;
}): Promise<ServiceProcess> {
  const env = {
    ...run.env,
    KAFKA_BROKERS,
    REDIS_URL,
    PG_URL,
    LAKE_ROOT: run.lake,
    FEATURE_STORE_PG_SCHEMA: run.schema,
    FEATURE_STORE_AUTO_MIGRATE: 'true',
    FEATURE_STORE_REPO_DIR: join(REPO, 'feature_repo'),
    FEATURE_STORE_REDIS_PREFIX: run.redisPrefix,
    FEATURE_STORE_AGGREGATES_GROUP: run.group,
    FEATURE_STORE_REGISTRY_REFRESH: '200ms',
  };
  await runBuilt('feature-store', 'migrate.js', env);
  await runBuilt('feature-store', 'registry-cli.js', env, ['apply']);
  return startService('feature-store', env);
}
