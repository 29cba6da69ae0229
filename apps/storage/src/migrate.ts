import 'reflect-metadata';
import { createCassandraClient } from './cassandra/cassandra.client';
import { migrateKeyspace } from './cassandra/cql-migrator';
import { loadStorageConfig } from './config/storage.config';

/** `nx run storage:migrate`: applies the pending CQL migrations to CASSANDRA_KEYSPACE, then exits. */
async function main() {
  const config = loadStorageConfig();
  const client = createCassandraClient(config);
  try {
    await client.connect();
    const applied = await migrateKeyspace(client, config.CASSANDRA_KEYSPACE, config.CASSANDRA_REPLICATION);
    process.stdout.write(
      applied.length ? `applied to ${config.CASSANDRA_KEYSPACE}: ${applied.join(', ')}\n` : `${config.CASSANDRA_KEYSPACE} is up to date\n`,
    );
  } finally {
    await client.shutdown();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`migrate failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
