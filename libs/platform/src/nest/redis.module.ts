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
          useFactory: (health: HealthRegistry) => {
            const redis = new Redis(options.url, {
              lazyConnect: false,
              maxRetriesPerRequest: 1,
              enableOfflineQueue: false,
              connectTimeout: 2_000,
            });
            // Connection errors are reported through readiness, not as unhandled 'error' events.
            redis.on('error', () => undefined);
            health.register('redis', async () => void (await redis.ping()), { critical: options.critical });
            return redis;
          },
        },
        RedisLifecycle,
      ],
      exports: [REDIS_CLIENT],
    };
  }
}
