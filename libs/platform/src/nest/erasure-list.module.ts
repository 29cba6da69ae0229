import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { HealthRegistry } from '../health/health.registry';
import type { KafkaClient } from '../kafka/kafka.types';
import type { Logger } from '../logging/logger';
import { ErasureList } from '../privacy/erasure-list';
import { KAFKA_CLIENT } from './kafka.module';
import { LOGGER } from './platform.module';

export const ERASURE_LIST = Symbol('ERASURE_LIST');

class ErasureListLifecycle implements OnApplicationShutdown {
  constructor(@Inject(ERASURE_LIST) private readonly list: ErasureList) {}

  async onApplicationShutdown() {
    await this.list.stop();
  }
}

/**
 * The app's view of the erasure list (ErasureList), loaded before the app starts: consumers that drop the
 * records of erased users never see a record before the list is read. Needs KafkaModule.
 */
@Global()
@Module({})
export class ErasureListModule {
  static forRoot(options: { service: string; subjectKey: string }): DynamicModule {
    return {
      module: ErasureListModule,
      providers: [
        {
          provide: ERASURE_LIST,
          inject: [KAFKA_CLIENT, LOGGER, HealthRegistry],
          useFactory: async (kafka: KafkaClient, logger: Logger, health: HealthRegistry) => {
            const list = new ErasureList({ kafka, logger, health, service: options.service, subjectKey: options.subjectKey });
            await list.start();
            return list;
          },
        },
        ErasureListLifecycle,
      ],
      exports: [ERASURE_LIST],
    };
  }
}
