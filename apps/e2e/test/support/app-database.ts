import { runBuilt, type ServiceProcess, stackCassandraClient, startService } from '@pulse/platform/testing';
import type { Client as PgClient } from 'pg';

/** The stack as the tests reach it (env of `tools/stack/stack env`, else the defaults). */
export const PG_URL = process.env['PG_URL'] ?? 'postgres://pulse:pulse@127.0.0.1:25432/pulse';
export const KAFKA_BROKERS = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:29092';
export const CASSANDRA = process.env['CASSANDRA_CONTACT_POINTS'] ?? '127.0.0.1:29042';

/** The app database's tables (cdc's migrations) in `schema`; applying them again changes nothing. */
export async function migrateAppDatabase(schema: string): Promise<void> {
  await runBuilt('cdc', 'migrate.js', { PG_URL, CDC_SCHEMA: schema });
}

/**
 * An app database of its own for one test run: cdc's migrations applied to `schema`, and the built cdc service
 * capturing it (its own slot, publication, server name and state schema).
 */
export async function startAppDatabase(schema: string): Promise<ServiceProcess> {
  await migrateAppDatabase(schema);
  return startService('cdc', {
    PG_URL,
    KAFKA_BROKERS,
    CDC_SCHEMA: schema,
    CDC_SLOT: schema,
    CDC_PUBLICATION: schema,
    CDC_SERVER_NAME: schema,
    CDC_STATE_SCHEMA: `${schema}_state`,
  });
}

/** Drops what startAppDatabase and a storage keyspace of the run left on the stack. */
export async function dropAppDatabase(pg: PgClient, schema: string, keyspace?: string): Promise<void> {
  await pg
    .query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [schema])
    .catch(() => undefined);
  await pg.query(`DROP PUBLICATION IF EXISTS ${schema}`).catch(() => undefined);
  await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await pg.query(`DROP SCHEMA IF EXISTS ${schema}_state CASCADE`).catch(() => undefined);
  if (!keyspace) return;
  const cassandra = stackCassandraClient();
  await cassandra.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
  await cassandra.shutdown();
}
