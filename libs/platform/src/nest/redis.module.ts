import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import type { z } from 'zod';
import { type ClientTlsFiles, readClientTlsFiles } from '../config/client-tls';
import { ConfigError, type redisEnv } from '../config/load-config';
import { HealthRegistry } from '../health/health.registry';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

export interface RedisModuleOptions {
  /**
   * `redis://[user:password@]host:port[/db]`, `rediss://` for TLS; with `sentinels`, only its user, password and db
   * (and `rediss`) are used. The user is a Redis ACL user.
   */
  url: string;
  /** TLS material for a `rediss://` URL (the server's certificate is always verified). */
  tls?: ClientTlsFiles;
  /** Whether readiness depends on Redis, or the service degrades without it. */
  critical: boolean;
  /**
   * Redis Sentinel addresses (`host:port`): the client asks them for the primary of `sentinelMaster`, and after a
   * failover reconnects to the primary they promoted. Empty: `url` is the server.
   */
  sentinels?: readonly string[];
  /** The name of the monitored primary (`sentinel monitor <name> ...`). */
  sentinelMaster?: string;
  /**
   * Commands issued in the same event-loop tick leave in one socket write (ioredis' auto-pipelining): for a
   * server answering many concurrent requests with a command each, where a write per command costs more
   * than the command itself (the feature store's online reads).
   */
  autoPipelining?: boolean;
}

/** The RedisModule options of REDIS_* (TLS files read here); a ConfigError names every variable that is wrong. */
export function redisSettings(
  service: string,
  config: z.infer<z.ZodObject<typeof redisEnv>>,
): Pick<RedisModuleOptions, 'url' | 'sentinels' | 'sentinelMaster' | 'tls'> {
  const problems: { variable: string; message: string }[] = [];
  const files = readClientTlsFiles('REDIS', config, problems);
  const tlsUrl = config.REDIS_URL.startsWith('rediss://');
  if (!tlsUrl && (files.ca || files.cert))
    problems.push({ variable: 'REDIS_URL', message: 'REDIS_TLS_* files are set: use a rediss:// URL for TLS' });
  if (problems.length > 0) throw new ConfigError(service, problems);
  return {
    url: config.REDIS_URL,
    sentinels: config.REDIS_SENTINELS,
    sentinelMaster: config.REDIS_SENTINEL_MASTER,
    tls: tlsUrl ? files : undefined,
  };
}

/**
 * The ioredis client of these options: one server, or the primary that Sentinel names (followed across failovers).
 * Not connected yet: call `connect()` (RedisModule does, and waits for it).
 */
export function createRedisClient(
  options: Pick<RedisModuleOptions, 'url' | 'sentinels' | 'sentinelMaster' | 'autoPipelining' | 'tls'>,
): Redis {
  const tls = options.tls ?? (options.url.startsWith('rediss://') ? {} : undefined);
  const common = {
    // Node's TLS: the server's certificate must chain to `ca` (or the system's CAs) and name the host.
    ...(tls ? { tls: { ...tls, rejectUnauthorized: true } } : {}),
    enableAutoPipelining: options.autoPipelining ?? false,
    lazyConnect: true,
    // A command fails fast while Redis is unreachable (callers degrade or report unavailable), never queues.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
    // Reconnects forever, backing off to 2 s: an outage ends without a restart of the service.
    retryStrategy: (attempt: number) => Math.min(100 * attempt, 2_000),
  };
  if (!options.sentinels || options.sentinels.length === 0) return new Redis(options.url, common);
  const url = new URL(options.url);
  return new Redis({
    ...common,
    sentinels: options.sentinels.map((address) => {
      const [host, port] = address.split(':');
      return { host, port: Number(port) };
    }),
    name: options.sentinelMaster ?? 'pulse',
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    sentinelRetryStrategy: (attempt: number) => Math.min(100 * attempt, 2_000),
    // With TLS, the primary the sentinels name is reached over TLS too.
    enableTLSForSentinelMode: tls !== undefined,
    // Reconnect at once when a sentinel announces a new primary, not only when the old one stops answering.
    failoverDetector: true,
    // A primary demoted to a replica answers READONLY: reconnect, Sentinel names the new primary.
    reconnectOnError: (error: Error) => error.message.startsWith('READONLY'),
  });
}

/**
 * Connects the client again when it ended by itself. ioredis gives a client up for good in some Sentinel failovers
 * (redis/ioredis#1683; seen in tools/chaos's redis-primary scenario: the recommender's client answered "Connection is
 * closed." for minutes after the primary was killed, while the other services' clients came back), and an ended client
 * never tries again. Returns the function that stops watching (called before the client quits).
 */
export function keepConnected(redis: Redis, intervalMs = 1_000): () => void {
  const timer = setInterval(() => {
    if (redis.status === 'end') redis.connect().catch(() => undefined);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

const REDIS_WATCHDOG = Symbol('REDIS_WATCHDOG');

class RedisLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(REDIS_WATCHDOG) private readonly stopWatching: () => void,
  ) {}

  async onApplicationShutdown() {
    this.stopWatching();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Waits for the first connection; a critical Redis that does not answer in time stops the start. */
async function connected(redis: Redis, critical: boolean): Promise<void> {
  const timeoutMs = critical ? 10_000 : 2_000;
  if (redis.status === 'ready') return;
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!ready && critical) {
    redis.disconnect();
    const where = redis.options.sentinels?.length
      ? `primary "${redis.options.name}" of the sentinels`
      : `redis at ${redis.options.host}:${redis.options.port}`;
    throw new Error(`${where} did not answer within ${timeoutMs} ms`);
  }
}

/**
 * The app's one ioredis client (one server or a Sentinel-managed primary), reconnecting after an outage, with a
 * readiness check and a clean quit on shutdown.
 */
@Global()
@Module({})
export class RedisModule {
  static forRoot(options: RedisModuleOptions): DynamicModule {
    return {
      module: RedisModule,
      providers: [
        {
          provide: REDIS_CLIENT,
          inject: [HealthRegistry],
          useFactory: async (health: HealthRegistry) => {
            const redis = createRedisClient(options);
            // Retried by the client until it answers (retryStrategy); `connected` decides how long the start waits.
            redis.connect().catch(() => undefined);
            // Connection errors are reported through readiness, not as unhandled 'error' events.
            redis.on('error', () => undefined);
            health.register('redis', async () => void (await redis.ping()), { critical: options.critical });
            await connected(redis, options.critical);
            return redis;
          },
        },
        { provide: REDIS_WATCHDOG, inject: [REDIS_CLIENT], useFactory: (redis: Redis) => keepConnected(redis) },
        RedisLifecycle,
      ],
      exports: [REDIS_CLIENT],
    };
  }
}
