import { DynamicModule, Module } from '@nestjs/common';
import { KafkaModule, type Logger, PlatformModule } from '@pulse/platform';
import { CaptureModule } from './capture/capture.module';
import { CDC_STATIC_TOPICS } from './capture/cdc-topics';
import { CDC_CONFIG, type CdcConfig } from './config/cdc.config';

/** config → logging, health, metrics → Kafka → the capture slice (PostgreSQL is reached by the slice itself). */
@Module({})
export class AppModule {
  static forRoot(config: CdcConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }),
        KafkaModule.forRoot({
          settings: { brokers: config.KAFKA_BROKERS, clientId: config.SERVICE_NAME },
          // Per-table topics are created by the capture as it finds the tables of its publication.
          topics: CDC_STATIC_TOPICS,
        }),
        CaptureModule,
      ],
      providers: [{ provide: CDC_CONFIG, useValue: config }],
      exports: [CDC_CONFIG],
    };
  }
}
