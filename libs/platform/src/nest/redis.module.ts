import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { HealthRegistry } from '../health/health.registry';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

export interface RedisModuleOptions {
  /** `redis://[user:password@]host:port[/db]`; with `sentinels`, only its user, password and db are used. */
  url: string;
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

/**
 * The ioredis client of these options: one server, or the primary that Sentinel names (followed across failovers).
 * Not connected yet: call `connect()` (RedisModule does, and waits for it).
 */
export function createRedisClient(options: Pick<RedisModuleOptions, 'url' | 'sentinels' | 'sentinelMaster' | 'autoPipelining'>): Redis {
  const common = {
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
    // Reconnect at once when a sentinel announces a new primary, not only when the old one stops answering.
    failoverDetector: true,
    // A primary demoted to a replica answers READONLY: reconnect, Sentinel names the new primary.
    reconnectOnError: (error: Error) => error.message.startsWith('READONLY'),
  });
}

class RedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async onApplicationShutdown() {
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
        RedisLifecycle,
      ],
      exports: [REDIS_CLIENT],
    };
  }
}
