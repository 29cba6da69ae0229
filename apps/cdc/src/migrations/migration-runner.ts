import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { quoteIdent } from '../replication/sql';

/** One `NNN_name.sql` file of apps/cdc/migrations. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: Migration[];
  alreadyApplied: number;
}

const FILE_NAME = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

/** Reads the migrations of a folder in version order; refuses unexpected names and duplicate versions. */
export function readMigrations(dir: string): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = FILE_NAME.exec(file);
      if (!match) throw new Error(`migration file "${file}" is not named NNN_name.sql`);
      const sql = readFileSync(join(dir, file), 'utf8');
      return { version: Number(match[1]), name: match[2], sql, checksum: createHash('sha256').update(sql).digest('hex') };
    })
    .sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i].version === migrations[i - 1].version) throw new Error(`two migrations have version ${migrations[i].version}`);
  }
  return migrations;
}

/** The migrations folder: next to the built program (dist/apps/cdc/migrations) or apps/cdc/migrations in a checkout. */
export function defaultMigrationsDir(): string {
  const candidates = [join(__dirname, 'migrations'), join(__dirname, '..', 'migrations'), join(__dirname, '..', '..', 'migrations')];
  const found = candidates.find((dir) => existsSync(join(dir, '001_users.sql')));
  if (!found) throw new Error(`cannot find the migrations folder (looked in ${candidates.join(', ')}); set CDC_MIGRATIONS_DIR`);
  return found;
}

/**
 * Applies the migrations not yet recorded in `<schema>.schema_migrations`, each in its own transaction,
 * under an advisory lock so that concurrent runners apply each once. Unqualified names in the files land
 * in `schema` (the search_path). Refuses to run when an applied migration's file changed since.
 */
export async function runMigrations(pgUrl: string, schema: string, dir: string): Promise<MigrationResult> {
  const migrations = readMigrations(dir);
  const client = new Client({ connectionString: pgUrl, application_name: 'pulse-cdc-migrate' });
  await client.connect();
  const table = `${quoteIdent(schema)}.schema_migrations`;
  try {
    // One runner at a time per schema; the lock goes with the session.
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`pulse.migrations.${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (
         version    integer PRIMARY KEY,
         name       text NOT NULL,
         checksum   text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      `SELECT version, name, checksum FROM ${table} ORDER BY version`,
    );
    const done = new Map(rows.map((r) => [r.version, r]));
    for (const m of migrations) {
      const previous = done.get(m.version);
      if (previous && previous.checksum !== m.checksum) {
        throw new Error(
          `migration ${String(m.version).padStart(3, '0')}_${m.name} was changed after it was applied to schema "${schema}"; ` +
            'add a new migration instead of editing an applied one',
        );
      }
    }
    const applied: Migration[] = [];
    for (const m of migrations.filter((m) => !done.has(m.version))) {
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
        await client.query(m.sql);
        await client.query(`INSERT INTO ${table} (version, name, checksum) VALUES ($1, $2, $3)`, [m.version, m.name, m.checksum]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`migration ${String(m.version).padStart(3, '0')}_${m.name} failed: ${reason}`);
      }
      applied.push(m);
    }
    return { applied, alreadyApplied: migrations.length - applied.length };
  } finally {
    await client.end().catch(() => undefined);
  }
}
