import { DynamicModule, Module } from '@nestjs/common';
import { Topics } from '@pulse/contracts';
import { KafkaModule, kafkaSettings, type Logger, PlatformModule, RedisModule, redisSettings } from '@pulse/platform';
import { INGEST_CONFIG, type IngestConfig } from './config/ingest.config';
import { TrackEventsModule } from './track-events/track-events.module';

/** config → logging, health, metrics → Kafka, Redis → the TrackEvents slice. */
@Module({})
export class AppModule {
  static forRoot(config: IngestConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }),
        KafkaModule.forRoot({
          settings: kafkaSettings(config),
          topics: [Topics.activityTracked, Topics.activityRejected],
        }),
        // Dedup is best effort: without Redis, ingest keeps accepting (and says so on /metrics).
        RedisModule.forRoot({
          ...redisSettings(config.SERVICE_NAME, config),
          critical: false,
        }),
        TrackEventsModule,
      ],
      providers: [{ provide: INGEST_CONFIG, useValue: config }],
      exports: [INGEST_CONFIG],
    };
  }
}
