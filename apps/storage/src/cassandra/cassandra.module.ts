import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { HealthRegistry, LOGGER, type Logger } from '@pulse/platform';
import type { Client } from 'cassandra-driver';
import { STORAGE_CONFIG, type StorageConfig } from '../config/storage.config';
import { CASSANDRA, createCassandraClient } from './cassandra.client';
import { migrateKeyspace } from './cql-migrator';

class CassandraLifecycle implements OnApplicationShutdown {
  constructor(@Inject(CASSANDRA) private readonly client: Client) {}

  async onApplicationShutdown() {
    await this.client.shutdown();
  }
}

/** The app's Cassandra session on its keyspace, optionally migrated first, with a readiness check. */
@Global()
@Module({
  providers: [
    {
      provide: CASSANDRA,
      inject: [STORAGE_CONFIG, HealthRegistry, LOGGER],
      useFactory: async (config: StorageConfig, health: HealthRegistry, logger: Logger) => {
        if (config.STORAGE_AUTO_MIGRATE) {
          const admin = createCassandraClient(config);
          try {
            const applied = await migrateKeyspace(admin, config.CASSANDRA_KEYSPACE, config.CASSANDRA_REPLICATION);
            if (applied.length) logger.info({ applied, keyspace: config.CASSANDRA_KEYSPACE }, 'applied CQL migrations');
          } finally {
            await admin.shutdown();
          }
        }
        const client = createCassandraClient(config, config.CASSANDRA_KEYSPACE);
        await client.connect();
        health.register('cassandra', async () => void (await client.execute('SELECT release_version FROM system.local')));
        return client;
      },
    },
    CassandraLifecycle,
  ],
  exports: [CASSANDRA],
})
export class CassandraModule {}
