import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { TopicDefinition } from '@pulse/contracts';
import { HealthRegistry } from '../health/health.registry';
import type { Logger } from '../logging/logger';
import { ServiceMetrics } from '../metrics/metrics';
import type { KafkaClient, KafkaSettings } from '../kafka/kafka.types';
import { PlatformaticKafkaClient } from '../kafka/platformatic-kafka.client';
import { LOGGER } from './platform.module';

export const KAFKA_CLIENT = Symbol('KAFKA_CLIENT');

export interface KafkaModuleOptions {
  settings: KafkaSettings;
  /** Topics this app writes or reads; created at start if missing (never by broker auto-creation). */
  topics: readonly TopicDefinition<any, any>[];
}

class KafkaLifecycle implements OnApplicationShutdown {
  constructor(@Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient) {}

  // After the servers drained their in-flight calls: flush and close producer, consumers and admin.
  async onApplicationShutdown() {
    await this.kafka.close();
  }
}

/**
 * The app's one KafkaClient: topics ensured at start, a readiness check, records per topic and group and consumer
 * lag on /metrics (KafkaMetrics), closed last on shutdown.
 */
@Global()
@Module({})
export class KafkaModule {
  static forRoot(options: KafkaModuleOptions): DynamicModule {
    return {
      module: KafkaModule,
      providers: [
        {
          provide: KAFKA_CLIENT,
          inject: [HealthRegistry, LOGGER, ServiceMetrics],
          useFactory: async (health: HealthRegistry, logger: Logger, metrics: ServiceMetrics) => {
            const client = new PlatformaticKafkaClient(options.settings, logger, metrics);
            await client.admin.ensureTopics(options.topics);
            health.register('kafka', () => client.admin.ping());
            return client;
          },
        },
        KafkaLifecycle,
      ],
      exports: [KAFKA_CLIENT],
    };
  }
}
