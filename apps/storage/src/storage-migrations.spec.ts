import { migrationsDir, readCqlMigrations } from '@pulse/platform';

describe('storage CQL migrations', () => {
  it('reads the repository migrations in order, each idempotent DDL', () => {
    const migrations = readCqlMigrations(migrationsDir('storage', __dirname));
    const versions = migrations.map((m) => m.version);
    expect(versions.slice(0, 3)).toEqual(['001_profiles', '002_graph', '003_activity']);
    expect(versions).toEqual([...versions].sort());
    for (const statement of migrations.flatMap((m) => m.statements)) expect(statement).toMatch(/^CREATE TABLE IF NOT EXISTS /);
  });
});
