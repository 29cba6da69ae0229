import { migrateCassandraKeyspace, migrationsDir, runMigrateCommand } from '@pulse/platform';
import { loadStorageConfig } from './config/storage.config';

/** `nx run storage:migrate` / `node dist/apps/storage/migrate.js`: applies the pending CQL migrations to CASSANDRA_KEYSPACE. */
runMigrateCommand(async () => {
  const config = loadStorageConfig();
  const result = await migrateCassandraKeyspace({
    contactPoints: config.CASSANDRA_CONTACT_POINTS,
    localDataCenter: config.CASSANDRA_LOCAL_DC,
    keyspace: config.CASSANDRA_KEYSPACE,
    replication: config.CASSANDRA_REPLICATION,
    dir: migrationsDir('storage', __dirname, config.STORAGE_MIGRATIONS_DIR),
  });
  return [{ target: `keyspace ${config.CASSANDRA_KEYSPACE}`, result }];
});
