import { hostname } from 'node:os';
import { z } from 'zod';
import { addressProblem } from '../grpc/channel-target';

/** Thrown when the environment does not satisfy a service's config schema; names every bad variable. */
export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: { variable: string; message: string }[],
  ) {
    super(`${service}: refusing to start, invalid configuration:\n` + problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/**
 * Parses `env` (by default `process.env`) against a zod object schema whose keys are the
 * UPPER_SNAKE variable names. Every service's `config/` folder calls this once; nothing else
 * in a service reads `process.env`.
 */
export function loadConfig<S extends z.ZodObject>(
  service: string,
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({
    variable: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
  throw new ConfigError(service, problems);
}

/** Reusable field schemas, so every service spells the same variable the same way. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  /** Comma-separated `host:port` list. */
  hostList: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((s) =>
        s
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean),
      )
      .refine((hosts) => hosts.length > 0 && hosts.every((h) => /^[^\s:]+:\d{1,5}$/.test(h)), {
        message: 'expected a comma-separated list of host:port',
      }),
  /** A peer's gRPC address (`<PEER>_GRPC_ADDR`): one `host:port`, or several IP `host:port`s (channelTarget). */
  address: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .superRefine((s, ctx) => {
        const problem = addressProblem(s);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
  url: (fallback: string) => z.url().default(fallback),
  /** A decimal number, e.g. a rate. */
  number: (fallback: number, min = 0, max = Number.MAX_VALUE) => z.coerce.number().min(min).max(max).default(fallback),
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(fallback),
  /** A duration such as `250ms`, `30s`, `5m`, `2h`, `7d`; parsed to milliseconds. */
  duration: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((s, ctx) => {
        const ms = parseDuration(s);
        if (ms === undefined) {
          ctx.addIssue({ code: 'custom', message: `expected a duration like 30s, 5m, 2h or 7d, got "${s}"` });
          return z.NEVER;
        }
        return ms;
      }),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `true` or `false`. */
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true'),
  /** A lowercase identifier usable unquoted as a PostgreSQL schema or a Cassandra keyspace (at most 48 characters). */
  identifier: (fallback: string) =>
    z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,47}$/, 'lowercase letters, digits and _, starting with a letter, at most 48')
      .default(fallback),
  /** Cassandra keyspace replication: `SimpleStrategy:<rf>` or `NetworkTopologyStrategy:<dc>=<rf>[,<dc>=<rf>...]`. */
  cassandraReplication: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .refine((s) => /^SimpleStrategy:\d+$/.test(s) || /^NetworkTopologyStrategy:[\w-]+=\d+(,[\w-]+=\d+)*$/.test(s), {
        message: 'expected SimpleStrategy:<rf> or NetworkTopologyStrategy:<dc>=<rf>[,<dc>=<rf>...]',
      }),
  string: (fallback: string) => z.string().min(1).default(fallback),
  /** Text read by a parser of the app's (a list of rules, of weights); the parser's error names what is wrong. */
  parsed: <T>(fallback: string, parse: (text: string) => T) =>
    z
      .string()
      .default(fallback)
      .transform((text, ctx) => {
        try {
          return parse(text);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      }),
};

/** The Redis variables of a service with a RedisModule, spread into its config schema. */
export const redisEnv = {
  REDIS_URL: env.url('redis://127.0.0.1:26379'),
  /** Redis Sentinel addresses, comma-separated `host:port`; empty: REDIS_URL is the server itself. */
  REDIS_SENTINELS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
    )
    .refine((hosts) => hosts.every((h) => /^[^\s:]+:\d{1,5}$/.test(h)), { message: 'expected a comma-separated list of host:port' }),
  /** Name of the primary the sentinels monitor. */
  REDIS_SENTINEL_MASTER: env.string('pulse'),
  /** CA bundle (PEM) the server's certificate chains to, for a `rediss://` URL; empty: the system's CAs. */
  REDIS_TLS_CA_FILE: z.string().default(''),
  /** Client certificate and key (PEM) for a server with `tls-auth-clients yes`. */
  REDIS_TLS_CERT_FILE: z.string().default(''),
  REDIS_TLS_KEY_FILE: z.string().default(''),
};

/**
 * The leader election variables of a singleton service (LeaderElectionModule), spread into its config schema.
 * The identity defaults to the host name (the pod's name in Kubernetes) and the process id.
 */
export const leaderElectionEnv = (enabled: boolean) => ({
  /** Replicas elect one leader through a PostgreSQL advisory lock; the others stand by and take over. */
  LEADER_ELECTION: env.bool(enabled),
  /** This replica in logs and pg_stat_activity. */
  LEADER_ELECTION_IDENTITY: env.string(`${hostname()}-${process.pid}`),
  /** How often a standby tries to take the lock: the longest a takeover waits once the leader's session is gone. */
  LEADER_ELECTION_RETRY_INTERVAL: env.duration('2s'),
  /** How long a leader whose session broke tries to take the lock again before it stops (the process ends). */
  LEADER_ELECTION_RENEW_DEADLINE: env.duration('10s'),
});

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNITS[match[2]]);
}
