import { replicationMap } from './cassandra.client';
import { migrationsDir, readMigrations, splitStatements } from './cql-migrator';

describe('CQL migrations', () => {
  it('splits statements and drops comments', () => {
    const cql =
      "-- a table\nCREATE TABLE IF NOT EXISTS a (k text PRIMARY KEY);\n\nCREATE TABLE IF NOT EXISTS b (k text PRIMARY KEY) -- trailing\n  WITH comment = 'x';\n";
    expect(splitStatements(cql)).toEqual([
      'CREATE TABLE IF NOT EXISTS a (k text PRIMARY KEY)',
      "CREATE TABLE IF NOT EXISTS b (k text PRIMARY KEY) \n  WITH comment = 'x'",
    ]);
  });

  it('reads the repository migrations in order, each idempotent DDL', () => {
    const migrations = readMigrations(migrationsDir());
    const versions = migrations.map((m) => m.version);
    expect(versions.slice(0, 3)).toEqual(['001_profiles', '002_graph', '003_activity']);
    expect(versions).toEqual([...versions].sort());
    for (const statement of migrations.flatMap((m) => m.statements)) expect(statement).toMatch(/^CREATE TABLE IF NOT EXISTS /);
  });

  it('builds the replication map from configuration', () => {
    expect(replicationMap('SimpleStrategy:1')).toBe("{'class': 'SimpleStrategy', 'replication_factor': 1}");
    expect(replicationMap('NetworkTopologyStrategy:eu=3,us=2')).toBe("{'class': 'NetworkTopologyStrategy', 'eu': 3, 'us': 2}");
  });
});
