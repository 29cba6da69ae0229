import type { Client } from 'cassandra-driver';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CassandraSettings, createCassandraClient, replicationMap } from './cassandra.client';

export interface CqlMigration {
  version: string;
  statements: string[];
  checksum: string;
}

/** The `NNN_name.cql` files of a folder (an app's migrations/), in order. */
export function readCqlMigrations(dir: string): CqlMigration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.cql$/.test(f))
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      return {
        version: file.replace(/\.cql$/, ''),
        statements: splitStatements(text),
        checksum: createHash('sha256').update(text).digest('hex'),
      };
    });
}

/** Statements separated by `;` at line ends, `--` comments dropped. */
export function splitStatements(cql: string): string[] {
  return cql
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Creates the keyspace (replication from configuration) and applies the migrations not yet recorded in
 * `<keyspace>.schema_migrations`. Idempotent: a second run applies nothing; every DDL statement is
 * `IF NOT EXISTS`, so two replicas migrating at once converge. An applied migration whose file changed
 * stops the run. Returns the versions applied now.
 */
export async function migrateKeyspace(client: Client, keyspace: string, replication: string, dir: string): Promise<string[]> {
  await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${replicationMap(replication)}`);
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${keyspace}.schema_migrations (version text PRIMARY KEY, checksum text, applied_at timestamp)`,
  );
  const done = new Map(
    (await client.execute(`SELECT version, checksum FROM ${keyspace}.schema_migrations`)).rows.map((r) => [
      r.get('version'),
      r.get('checksum'),
    ]),
  );
  const applied: string[] = [];
  for (const migration of readCqlMigrations(dir)) {
    const recorded = done.get(migration.version);
    if (recorded === migration.checksum) continue;
    if (recorded !== undefined) {
      throw new Error(`migration ${migration.version} was applied with different contents; add a new migration instead of editing it`);
    }
    for (const statement of migration.statements) {
      await client.execute(qualify(statement, keyspace));
    }
    await client.execute(`INSERT INTO ${keyspace}.schema_migrations (version, checksum, applied_at) VALUES (?, ?, toTimestamp(now()))`, [
      migration.version,
      migration.checksum,
    ]);
    applied.push(migration.version);
  }
  return applied;
}

/** Prefixes the table of CREATE/ALTER/DROP TABLE statements with the keyspace. */
function qualify(statement: string, keyspace: string): string {
  return statement.replace(
    /^(CREATE TABLE IF NOT EXISTS|CREATE TABLE|ALTER TABLE|DROP TABLE IF EXISTS|DROP TABLE)\s+(\w+)/i,
    `$1 ${keyspace}.$2`,
  );
}

/** The `migrate` program's Cassandra part: connects, creates and migrates the keyspace, disconnects. */
export async function migrateCassandraKeyspace(
  options: CassandraSettings & { keyspace: string; replication: string; dir: string },
): Promise<{ applied: { label: string }[]; alreadyApplied: number }> {
  const client = createCassandraClient(options);
  try {
    await client.connect();
    const before = readCqlMigrations(options.dir).length;
    const applied = await migrateKeyspace(client, options.keyspace, options.replication, options.dir);
    return { applied: applied.map((label) => ({ label })), alreadyApplied: before - applied.length };
  } finally {
    await client.shutdown();
  }
}
