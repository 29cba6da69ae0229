import { replicationMap } from './cassandra.client';
import { splitStatements } from './cql-migrator';

describe('CQL migrations', () => {
  it('splits statements and drops comments', () => {
    const cql =
      "-- a table\nCREATE TABLE IF NOT EXISTS a (k text PRIMARY KEY);\n\nCREATE TABLE IF NOT EXISTS b (k text PRIMARY KEY) -- trailing\n  WITH comment = 'x';\n";
    expect(splitStatements(cql)).toEqual([
      'CREATE TABLE IF NOT EXISTS a (k text PRIMARY KEY)',
      "CREATE TABLE IF NOT EXISTS b (k text PRIMARY KEY) \n  WITH comment = 'x'",
    ]);
  });

  it('builds the replication map from configuration', () => {
    expect(replicationMap('SimpleStrategy:1')).toBe("{'class': 'SimpleStrategy', 'replication_factor': 1}");
    expect(replicationMap('NetworkTopologyStrategy:eu=3,us=2')).toBe("{'class': 'NetworkTopologyStrategy', 'eu': 3, 'us': 2}");
  });
});
