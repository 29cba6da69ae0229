import { Client, errors, types } from 'cassandra-driver';

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

/**
 * Whether Cassandra refused a statement for what it holds (a syntax error, an invalid value such as a null
 * key or an oversized cell, a missing table), which no retry fixes; an unreachable node, a timeout or an
 * unavailable replica set is transient. For consumers' `isPermanent`.
 */
export function isPermanentCassandraError(error: unknown): boolean {
  if (!(error instanceof errors.ResponseError)) return false;
  const codes = types.responseErrorCodes;
  return [codes.syntaxError, codes.invalid, codes.configError, codes.unauthorized].includes(error.code);
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
