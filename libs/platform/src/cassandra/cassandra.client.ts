import { Client, types } from 'cassandra-driver';

/** Where the cluster is: contact points (`host:port`) and the local data center. */
export interface CassandraSettings {
  contactPoints: string[];
  localDataCenter: string;
}

export const CASSANDRA = Symbol('CASSANDRA');

/**
 * The driver's own default is LOCAL_ONE; Pulse reads and writes at LOCAL_QUORUM and runs lightweight
 * transactions at LOCAL_SERIAL (docs/storage-data-model.md lists each operation's level and why).
 * Statements are prepared; each one says whether it is idempotent, so the driver may retry or speculate.
 */
export function createCassandraClient(settings: CassandraSettings, keyspace?: string): Client {
  return new Client({
    contactPoints: settings.contactPoints,
    localDataCenter: settings.localDataCenter,
    keyspace,
    queryOptions: {
      consistency: types.consistencies.localQuorum,
      serialConsistency: types.consistencies.localSerial,
      prepare: true,
    },
    socketOptions: { connectTimeout: 5_000, readTimeout: 12_000 },
  });
}

/** `SimpleStrategy:1` / `NetworkTopologyStrategy:dc1=3,dc2=3` → the CQL replication map. */
export function replicationMap(setting: string): string {
  const [strategy, spec] = setting.split(':');
  if (strategy === 'SimpleStrategy') return `{'class': 'SimpleStrategy', 'replication_factor': ${Number(spec)}}`;
  const dcs = spec.split(',').map((pair) => {
    const [dc, rf] = pair.split('=');
    return `'${dc}': ${Number(rf)}`;
  });
  return `{'class': 'NetworkTopologyStrategy', ${dcs.join(', ')}}`;
}
