import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

const FILE_NAME = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

/** PostgreSQL identifier quoting. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The migrations folder: next to the built program (dist/apps/feature-store/migrations) or in a checkout. */
export function defaultMigrationsDir(): string {
  const candidates = [join(__dirname, 'migrations'), join(__dirname, '..', 'migrations'), join(__dirname, '..', '..', 'migrations')];
  const found = candidates.find((dir) => existsSync(join(dir, '001_registry.sql')));
  if (!found) throw new Error(`cannot find the feature store migrations (looked in ${candidates.join(', ')})`);
  return found;
}

/**
 * Applies the migrations of `dir` not yet recorded in `<schema>.schema_migrations`, each in its own
 * transaction, under an advisory lock so concurrent replicas apply each once. Refuses to run when an
 * applied migration's file changed since.
 */
export async function runMigrations(pgUrl: string, schema: string, dir = defaultMigrationsDir()): Promise<MigrationResult> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const match = FILE_NAME.exec(file);
      if (!match) throw new Error(`migration file "${file}" is not named NNN_name.sql`);
      const sql = readFileSync(join(dir, file), 'utf8');
      return { version: Number(match[1]), name: match[2], sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
  const client = new Client({ connectionString: pgUrl, application_name: 'pulse-feature-store-migrate' });
  await client.connect();
  const table = `${quoteIdent(schema)}.schema_migrations`;
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`pulse.migrations.${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number; checksum: string }>(`SELECT version, checksum FROM ${table}`);
    const done = new Map(rows.map((r) => [r.version, r.checksum]));
    const applied: string[] = [];
    for (const m of files) {
      const label = `${String(m.version).padStart(3, '0')}_${m.name}`;
      const previous = done.get(m.version);
      if (previous !== undefined) {
        if (previous !== m.checksum)
          throw new Error(`migration ${label} was changed after it was applied to schema "${schema}"; add a new one instead`);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
        await client.query(m.sql);
        await client.query(`INSERT INTO ${table} (version, name, checksum) VALUES ($1, $2, $3)`, [m.version, m.name, m.checksum]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${label} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      applied.push(label);
    }
    return { applied, alreadyApplied: files.length - applied.length };
  } finally {
    await client.end().catch(() => undefined);
  }
}
