import { migrationsDir, runMigrations } from '@pulse/platform';
import { Client as PgClient } from 'pg';

export const PG_URL = process.env['PG_URL'] ?? 'postgres://pulse:pulse@127.0.0.1:25432/pulse';

/** A copy of the app database's tables (apps/cdc/migrations) in a schema of its own. */
export async function createAppSchema(schema: string): Promise<void> {
  await runMigrations({ pgUrl: PG_URL, schema, dir: migrationsDir('cdc', __dirname), applicationName: 'simulator-test' });
}

export async function dropSchemas(...schemas: string[]): Promise<void> {
  const pg = new PgClient({ connectionString: PG_URL });
  await pg.connect();
  try {
    for (const schema of schemas) await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await pg.end();
  }
}
