import { cassandraSettings, migrateCassandraKeyspace, migrationsDir, runMigrateCommand } from '@pulse/platform';
import { loadStorageConfig } from './config/storage.config';

/** `nx run storage:migrate` / `node dist/apps/storage/migrate.js`: applies the pending CQL migrations to CASSANDRA_KEYSPACE. */
runMigrateCommand(async () => {
  const config = loadStorageConfig();
  const result = await migrateCassandraKeyspace({
    ...cassandraSettings(config.SERVICE_NAME, config),
    keyspace: config.CASSANDRA_KEYSPACE,
    replication: config.CASSANDRA_REPLICATION,
    dir: migrationsDir('storage', __dirname, config.STORAGE_MIGRATIONS_DIR),
  });
  return [{ target: `keyspace ${config.CASSANDRA_KEYSPACE}`, result }];
});
