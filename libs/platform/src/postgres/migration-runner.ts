import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { quoteIdent } from './sql';

/** One `NNN_name.sql` file of an app's migrations folder. */
export interface Migration {
  version: number;
  name: string;
  /** `NNN_name`, as logs and errors say it. */
  label: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: Migration[];
  alreadyApplied: number;
}

const FILE_NAME = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

/** Reads the migrations of a folder in version order (as numbers); refuses unexpected names and duplicate versions. */
export function readMigrations(dir: string): Migration[] {
  const files = readdirSync(dir).filter((file) => file.endsWith('.sql'));
  return defineMigrations(
    files.map((file) => ({ file, sql: readFileSync(join(dir, file), 'utf8') })),
    dir,
  );
}

/**
 * Migrations kept in code rather than in a folder (a library's own schema, which every app bundle must carry):
 * the same `NNN_name.sql` names, order and checks as `readMigrations`.
 */
export function defineMigrations(files: readonly { file: string; sql: string }[], where = 'the migrations'): Migration[] {
  const migrations = files
    .map(({ file, sql }) => {
      const match = FILE_NAME.exec(file);
      if (!match) throw new Error(`migration file "${file}" is not named NNN_name.sql`);
      const version = Number(match[1]);
      return {
        version,
        name: match[2],
        label: `${String(version).padStart(3, '0')}_${match[2]}`,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    })
    .sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i].version === migrations[i - 1].version)
      throw new Error(`two migrations have version ${migrations[i].version} in ${where}`);
  }
  return migrations;
}

/**
 * An app's migrations folder: an explicit directory (an env variable in an image), else `migrations/` beside
 * the built program (dist/apps/<app>/migrations) or `apps/<app>/migrations` of a checkout, found upwards
 * from `from` (the caller's `__dirname`) and the working directory.
 */
export function migrationsDir(app: string, from: string, explicit?: string): string {
  if (explicit) return explicit;
  const candidates = [join(from, 'migrations')];
  for (const start of [from, process.cwd()]) {
    for (let dir = start; ; dir = dirname(dir)) {
      candidates.push(join(dir, 'apps', app, 'migrations'));
      if (dirname(dir) === dir) break;
    }
  }
  const found = candidates.find((dir) => existsSync(dir) && readdirSync(dir).some((f) => /^\d{3,}_[a-z0-9_]+\.(sql|cql)$/.test(f)));
  if (!found) throw new Error(`cannot find the migrations of ${app} (looked beside ${from} and upwards for apps/${app}/migrations)`);
  return found;
}

/**
 * Applies the migrations of `dir` (or the given `migrations`) not yet recorded in `<schema>.schema_migrations`, each in its own
 * transaction, under an advisory lock so that concurrent replicas apply each once. Unqualified names in the
 * files land in `schema` (the search_path). Refuses to run when an applied migration's file changed since.
 */
export async function runMigrations(
  options: {
    pgUrl: string;
    schema: string;
    applicationName?: string;
  } & ({ dir: string } | { migrations: readonly Migration[] }),
): Promise<MigrationResult> {
  const { schema } = options;
  const migrations = 'dir' in options ? readMigrations(options.dir) : options.migrations;
  const client = new Client({ connectionString: options.pgUrl, application_name: options.applicationName ?? 'pulse-migrate' });
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
    const { rows } = await client.query<{ version: number; checksum: string }>(`SELECT version, checksum FROM ${table} ORDER BY version`);
    const done = new Map(rows.map((r) => [r.version, r.checksum]));
    for (const m of migrations) {
      const previous = done.get(m.version);
      if (previous !== undefined && previous !== m.checksum) {
        throw new Error(
          `migration ${m.label} was changed after it was applied to schema "${schema}"; add a new migration instead of editing an applied one`,
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
        throw new Error(`migration ${m.label} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      applied.push(m);
    }
    return { applied, alreadyApplied: migrations.length - applied.length };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The `migrate` program of an app (`node dist/apps/<app>/migrate.js`, the `migrate` target): applies the
 * migrations, prints each, and exits non-zero with the reason when one fails.
 */
export function runMigrateCommand(
  run: () => Promise<{ target: string; result: { applied: { label: string }[]; alreadyApplied: number } }[]>,
): void {
  run()
    .then((targets) => {
      for (const { target, result } of targets) {
        for (const m of result.applied) process.stdout.write(`${target}: applied ${m.label}\n`);
        process.stdout.write(`${target}: ${result.applied.length} applied, ${result.alreadyApplied} already applied\n`);
      }
    })
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
