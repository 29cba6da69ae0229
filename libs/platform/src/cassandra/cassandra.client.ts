import { Client, auth, errors, policies, types } from 'cassandra-driver';
import { z } from 'zod';
import { type ClientTlsFiles, readClientTlsFiles } from '../config/client-tls';
import { ConfigError, env } from '../config/load-config';

/**
 * The Cassandra variables of a service that uses Cassandra, spread into its config schema: where the cluster is,
 * the login role (Cassandra's PasswordAuthenticator) and client-to-node encryption. Locally the stack's node
 * requires a password (`tools/stack/stack env` prints the services' role); in a cluster the password comes from a
 * Secret (the chart's `cassandra.existingSecret`).
 */
export const cassandraEnv = {
  CASSANDRA_CONTACT_POINTS: env.hostList('127.0.0.1:29042'),
  CASSANDRA_LOCAL_DC: env.string('datacenter1'),
  /** Login role; empty: no authentication (a cluster with AllowAllAuthenticator). */
  CASSANDRA_USERNAME: z.string().default(''),
  CASSANDRA_PASSWORD: z.string().default(''),
  /** TLS towards the nodes (`client_encryption_options`); `true` is implied by CASSANDRA_TLS_CA_FILE. */
  CASSANDRA_TLS: env.bool(false),
  /** CA bundle (PEM) the nodes' certificates chain to; empty: the system's CAs. */
  CASSANDRA_TLS_CA_FILE: z.string().default(''),
  /** Client certificate and key (PEM) for nodes requiring client authentication (`require_client_auth`). */
  CASSANDRA_TLS_CERT_FILE: z.string().default(''),
  CASSANDRA_TLS_KEY_FILE: z.string().default(''),
};

export type CassandraEnv = z.infer<z.ZodObject<typeof cassandraEnv>>;

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
  /** The login role (PasswordAuthenticator); absent: none. */
  credentials?: { username: string; password: string };
  /** Client-to-node encryption, the server's certificate always verified; absent: plaintext. */
  tls?: ClientTlsFiles;
}

/** CassandraSettings from CASSANDRA_* (files read here); a ConfigError names every variable that is wrong. */
export function cassandraSettings(service: string, config: CassandraEnv): CassandraSettings {
  const problems: { variable: string; message: string }[] = [];
  if (Boolean(config.CASSANDRA_USERNAME) !== Boolean(config.CASSANDRA_PASSWORD))
    problems.push({
      variable: config.CASSANDRA_USERNAME ? 'CASSANDRA_PASSWORD' : 'CASSANDRA_USERNAME',
      message: 'the login role and its password go together',
    });
  const { ca, cert, key } = readClientTlsFiles('CASSANDRA', config, problems);
  if (problems.length > 0) throw new ConfigError(service, problems);
  const tlsOn = config.CASSANDRA_TLS || ca !== undefined || cert !== undefined;
  return {
    contactPoints: config.CASSANDRA_CONTACT_POINTS,
    localDataCenter: config.CASSANDRA_LOCAL_DC,
    credentials: config.CASSANDRA_USERNAME ? { username: config.CASSANDRA_USERNAME, password: config.CASSANDRA_PASSWORD } : undefined,
    tls: tlsOn ? { ca, cert, key } : undefined,
  };
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
    authProvider: settings.credentials
      ? new auth.PlainTextAuthProvider(settings.credentials.username, settings.credentials.password)
      : undefined,
    // Node's TLS: the node's certificate must chain to `ca` and name the contact point's host.
    sslOptions: settings.tls ? { ...settings.tls, rejectUnauthorized: true } : undefined,
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
