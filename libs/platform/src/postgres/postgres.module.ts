import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { HealthRegistry } from '../health/health.registry';
import type { Logger } from '../logging/logger';
import { LOGGER } from '../nest/platform.module';
import { runMigrations } from './migration-runner';
import { qualifiedName } from './sql';

export const PG_POOL = Symbol('PG_POOL');

export interface PostgresModuleOptions {
  url: string;
  /** The app's own schema (its tables and `schema_migrations`). */
  schema: string;
  /** `application_name` of the connections (pg_stat_activity). */
  applicationName: string;
  /** Apply pending migrations from this folder at start; otherwise the app's `migrate` target does it. */
  migrate?: { dir: string } | false;
  /**
   * A table of the schema that must exist; its absence stops the start with `schema "<schema>" has no <missing>`,
   * e.g. `{ table: 'registry_versions', missing: 'feature store tables: run \`nx run feature-store:migrate\`' }`.
   */
  requiredTable?: { table: string; missing: string };
  /** Most connections of the pool (default 8). */
  maxConnections?: number;
  /**
   * The `options` startup parameter of every connection (`-c name=value ...`): session settings the app's
   * queries rely on, e.g. `-c TimeZone=UTC`.
   */
  sessionOptions?: string;
  /** Whether readiness depends on PostgreSQL (default true). */
  critical?: boolean;
}

class PoolLifecycle implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async onApplicationShutdown() {
    await this.pool.end().catch(() => undefined);
  }
}

/** The app's one PostgreSQL pool: migrated at start when asked, checked for its schema, a readiness check, closed last. */
@Global()
@Module({})
export class PostgresModule {
  static forRoot(options: PostgresModuleOptions): DynamicModule {
    return {
      module: PostgresModule,
      providers: [
        {
          provide: PG_POOL,
          inject: [HealthRegistry, LOGGER],
          useFactory: async (health: HealthRegistry, logger: Logger) => {
            if (options.migrate) {
              const result = await runMigrations({
                pgUrl: options.url,
                schema: options.schema,
                dir: options.migrate.dir,
                applicationName: `${options.applicationName}-migrate`,
              });
              if (result.applied.length > 0)
                logger.info({ applied: result.applied.map((m) => m.label), schema: options.schema }, 'migrations applied');
            }
            const pool = new Pool({
              connectionString: options.url,
              max: options.maxConnections ?? 8,
              application_name: options.applicationName,
              connectionTimeoutMillis: 5_000,
              options: options.sessionOptions,
            });
            pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL connection failed'));
            if (options.requiredTable) {
              const { rows } = await pool.query<{ found: string | null }>('SELECT to_regclass($1) AS found', [
                qualifiedName(options.schema, options.requiredTable.table),
              ]);
              if (!rows[0]?.found) {
                await pool.end();
                throw new Error(`schema "${options.schema}" has no ${options.requiredTable.missing}`);
              }
            }
            health.register('postgres', async () => void (await pool.query('SELECT 1')), { critical: options.critical ?? true });
            return pool;
          },
        },
        PoolLifecycle,
      ],
      exports: [PG_POOL],
    };
  }
}
