import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMigrations } from '@pulse/platform';
import { CdcTestEnv, MIGRATIONS_DIR, PG_URL } from './support/cdc-test-env';

describe('app database migrations', () => {
  let env: CdcTestEnv;

  beforeAll(async () => {
    env = await CdcTestEnv.create({ migrate: false });
  });

  afterAll(async () => {
    await env.dispose();
  });

  it('applies every migration once, records it, and applies nothing on a second run', async () => {
    const first = await runMigrations({ pgUrl: PG_URL, schema: env.name, dir: MIGRATIONS_DIR });
    expect(first.applied.map((m) => m.label)).toEqual(['001_users', '002_posts', '003_follows', '004_comments', '005_blocks']);
    const second = await runMigrations({ pgUrl: PG_URL, schema: env.name, dir: MIGRATIONS_DIR });
    expect(second).toEqual({ applied: [], alreadyApplied: 5 });

    const { rows: recorded } = await env.query(`SELECT version, name FROM ${env.name}.schema_migrations ORDER BY version`);
    expect(recorded).toEqual([
      { version: 1, name: 'users' },
      { version: 2, name: 'posts' },
      { version: 3, name: 'follows' },
      { version: 4, name: 'comments' },
      { version: 5, name: 'blocks' },
    ]);
    const { rows: keys } = await env.query(
      `SELECT c.relname AS table, array_agg(a.attname ORDER BY array_position(i.indkey::int2[], a.attnum))::text AS pk
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
        WHERE i.indisprimary AND n.nspname = $1 GROUP BY c.relname ORDER BY c.relname`,
      [env.name],
    );
    expect(keys).toEqual([
      { table: 'blocks', pk: '{blocker_id,blocked_id}' },
      { table: 'comments', pk: '{id}' },
      { table: 'follows', pk: '{follower_id,followee_id}' },
      { table: 'posts', pk: '{id}' },
      { table: 'schema_migrations', pk: '{version}' },
      { table: 'users', pk: '{id}' },
    ]);
  });

  it('refuses to run when an applied migration was edited, and applies a new one after the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cdc-migrations-'));
    try {
      cpSync(MIGRATIONS_DIR, dir, { recursive: true });
      writeFileSync(join(dir, '006_user_locale.sql'), "ALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT 'en';\n");
      const added = await runMigrations({ pgUrl: PG_URL, schema: env.name, dir: dir });
      expect(added.applied.map((m) => m.name)).toEqual(['user_locale']);

      writeFileSync(join(dir, '002_posts.sql'), '-- edited\n', { flag: 'a' });
      await expect(runMigrations({ pgUrl: PG_URL, schema: env.name, dir: dir })).rejects.toThrow(
        /002_posts was changed after it was applied/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rolls back a failing migration and names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cdc-migrations-'));
    try {
      writeFileSync(join(dir, '001_users.sql'), 'CREATE TABLE broken_one (id int PRIMARY KEY);\nSELECT no_such_function();\n');
      const other = `${env.name}_broken`;
      await expect(runMigrations({ pgUrl: PG_URL, schema: other, dir: dir })).rejects.toThrow(
        /migration 001_users failed: function no_such_function\(\) does not exist/,
      );
      const { rows } = await env.query(`SELECT to_regclass($1) AS t`, [`${other}.broken_one`]);
      expect(rows[0].t).toBeNull();
      await env.query(`DROP SCHEMA ${other} CASCADE`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
