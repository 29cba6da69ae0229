import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { HealthRegistry, LOGGER, type Logger } from '@pulse/platform';
import { Pool } from 'pg';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from '../config/feature-store.config';
import { quoteIdent, runMigrations } from './migration-runner';

export const PG_POOL = Symbol('PG_POOL');

class PoolLifecycle implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async onApplicationShutdown() {
    await this.pool.end().catch(() => undefined);
  }
}

/** The app's PostgreSQL pool (registry, watermarks, jobs): migrated at start when asked, a readiness check, closed last. */
@Global()
@Module({
  providers: [
    {
      provide: PG_POOL,
      inject: [FEATURE_STORE_CONFIG, HealthRegistry, LOGGER],
      useFactory: async (config: FeatureStoreConfig, health: HealthRegistry, logger: Logger) => {
        if (config.FEATURE_STORE_AUTO_MIGRATE) {
          const result = await runMigrations(config.PG_URL, config.FEATURE_STORE_PG_SCHEMA);
          if (result.applied.length > 0)
            logger.info({ applied: result.applied, schema: config.FEATURE_STORE_PG_SCHEMA }, 'migrations applied');
        }
        const pool = new Pool({
          connectionString: config.PG_URL,
          max: 8,
          application_name: config.SERVICE_NAME,
          connectionTimeoutMillis: 5_000,
        });
        pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL connection failed'));
        const { rows } = await pool.query<{ found: string | null }>('SELECT to_regclass($1) AS found', [
          `${quoteIdent(config.FEATURE_STORE_PG_SCHEMA)}.registry_versions`,
        ]);
        if (!rows[0]?.found) {
          await pool.end();
          throw new Error(
            `schema "${config.FEATURE_STORE_PG_SCHEMA}" has no feature store tables: run \`nx run feature-store:migrate\` (node migrate.js) or set FEATURE_STORE_AUTO_MIGRATE=true`,
          );
        }
        health.register('postgres', async () => void (await pool.query('SELECT 1')));
        return pool;
      },
    },
    PoolLifecycle,
  ],
  exports: [PG_POOL],
})
export class PostgresModule {}
