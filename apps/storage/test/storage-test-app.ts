import type { DebeziumEnvelope } from '@pulse/contracts';
import { grpcClient, type UnaryClient } from '@pulse/platform';
import { issueTestApiKey, stackCassandraClient } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { createApp, type RunningApp } from '../src/app.factory';
import { loadStorageConfig } from '../src/config/storage.config';

/** The stack's addresses as the service reads them (env of `tools/stack/stack env`, else the defaults). */
export const stackConfig = loadStorageConfig();

export interface StorageTestApp {
  running: RunningApp;
  client: UnaryClient;
  keyspace: string;
  run: string;
  close(): Promise<void>;
}

/** A storage app on ephemeral ports with its own keyspace (migrated at start) and consumer group. */
export async function startStorage(overrides: Record<string, string> = {}): Promise<StorageTestApp> {
  const run = randomUUID().replace(/-/g, '').slice(0, 10);
  const keyspace = `storage_t_${run}`;
  const running = await createApp({
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    CASSANDRA_KEYSPACE: keyspace,
    STORAGE_AUTO_MIGRATE: 'true',
    STORAGE_ACTIVITY_CONSUMER: 'false',
    STORAGE_ACTIVITY_GROUP: `storage-test-${run}`,
    ...overrides,
  });
  // The client calls with an admin key of its own (the authorisation matrix checks the scopes).
  const key = await issueTestApiKey({
    label: 'storage',
    pgUrl: running.config.PULSE_AUTH_PG_URL,
    schema: running.config.PULSE_AUTH_PG_SCHEMA,
  });
  const client = grpcClient(running.grpcAddress, 'pulse/storage/v1/storage_service.proto', 'pulse.storage.v1.StorageService', {
    credentials: key.key,
  });
  return {
    running,
    client,
    keyspace,
    run,
    close: async () => {
      client.close();
      await key.remove();
      await running.close();
    },
  };
}

/** Drops a test keyspace. */
export async function dropKeyspace(keyspace: string): Promise<void> {
  const cassandra = stackCassandraClient();
  try {
    await cassandra.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  } finally {
    await cassandra.shutdown();
  }
}

/** A change of an app-database row as cdc (and Debezium) publishes it on `pulse.cdc.<schema>.<table>.v1`. */
export function changeEnvelope(
  schema: string,
  table: string,
  op: DebeziumEnvelope['op'],
  lsn: number,
  before: object | null,
  after: object | null,
): DebeziumEnvelope {
  return {
    before: before as Record<string, unknown> | null,
    after: after as Record<string, unknown> | null,
    op,
    ts_ms: Date.now(),
    source: { db: 'pulse', schema, table, lsn, txId: lsn, ts_ms: Date.now(), snapshot: 'false' },
  };
}
