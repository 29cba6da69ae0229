import { Client, errors, policies, types } from 'cassandra-driver';

/** Where the cluster is: contact points (`host:port`) and the local data center. */
export interface CassandraSettings {
  contactPoints: string[];
  localDataCenter: string;
  /**
   * After this long without an answer, an idempotent statement is sent to a second replica too and the first answer
   * wins (the driver's speculative execution): a node that hangs (GC, a stopped process) costs this delay, not a
   * timeout. Default 200 ms; 0 turns it off.
   */
  speculativeDelayMs?: number;
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
    policies: {
      // Replicas of the statement's partition in the local data center first, round robin among them; other
      // data centers are never used for LOCAL_* levels.
      loadBalancing: new policies.loadBalancing.TokenAwarePolicy(
        new policies.loadBalancing.DCAwareRoundRobinPolicy(settings.localDataCenter),
      ),
      speculativeExecution:
        (settings.speculativeDelayMs ?? 200) > 0
          ? new policies.speculativeExecution.ConstantSpeculativeExecutionPolicy(settings.speculativeDelayMs ?? 200, 1)
          : new policies.speculativeExecution.NoSpeculativeExecutionPolicy(),
      // A node that went down is tried again from 0.5 s, backing off to 10 s, for as long as it takes.
      reconnection: new policies.reconnection.ExponentialReconnectionPolicy(500, 10_000, false),
    },
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
