import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Client } from 'cassandra-driver';
import { HealthRegistry } from '../health/health.registry';
import type { Logger } from '../logging/logger';
import { LOGGER } from '../nest/platform.module';
import { CASSANDRA, type CassandraSettings, createCassandraClient } from './cassandra.client';
import { migrateKeyspace } from './cql-migrator';

export interface CassandraModuleOptions extends CassandraSettings {
  /** The app's keyspace; the session uses it. */
  keyspace: string;
  /** Replication of the keyspace when a migration creates it: `SimpleStrategy:1`, `NetworkTopologyStrategy:dc1=3`. */
  replication: string;
  /** Create the keyspace and apply pending CQL migrations from this folder at start; otherwise the `migrate` target does. */
  migrate?: { dir: string } | false;
}

class CassandraLifecycle implements OnApplicationShutdown {
  constructor(@Inject(CASSANDRA) private readonly client: Client) {}

  async onApplicationShutdown() {
    await this.client.shutdown();
  }
}

/** The app's Cassandra session on its keyspace, optionally migrated first, with a readiness check. */
@Global()
@Module({})
export class CassandraModule {
  static forRoot(options: CassandraModuleOptions): DynamicModule {
    return {
      module: CassandraModule,
      providers: [
        {
          provide: CASSANDRA,
          inject: [HealthRegistry, LOGGER],
          useFactory: async (health: HealthRegistry, logger: Logger) => {
            if (options.migrate) {
              const admin = createCassandraClient(options);
              try {
                const applied = await migrateKeyspace(admin, options.keyspace, options.replication, options.migrate.dir);
                if (applied.length) logger.info({ applied, keyspace: options.keyspace }, 'applied CQL migrations');
              } finally {
                await admin.shutdown();
              }
            }
            const client = createCassandraClient(options, options.keyspace);
            await client.connect();
            health.register('cassandra', async () => void (await client.execute('SELECT release_version FROM system.local')));
            return client;
          },
        },
        CassandraLifecycle,
      ],
      exports: [CASSANDRA],
    };
  }
}
