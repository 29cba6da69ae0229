import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { HealthRegistry } from '../health/health.registry';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

export interface RedisModuleOptions {
  url: string;
  /** Whether readiness depends on Redis, or the service degrades without it. */
  critical: boolean;
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
    throw new Error(`redis at ${redis.options.host}:${redis.options.port} did not answer within ${timeoutMs} ms`);
  }
}

/** The app's one ioredis client, with a readiness check and a clean quit on shutdown. */
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
            const redis = new Redis(options.url, {
              lazyConnect: false,
              maxRetriesPerRequest: 1,
              enableOfflineQueue: false,
              connectTimeout: 2_000,
            });
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
