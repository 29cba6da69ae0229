import { DynamicModule, Module } from '@nestjs/common';
import { Topics } from '@pulse/contracts';
import { ErasureListModule, KafkaModule, kafkaSettings, type Logger, PlatformModule, RedisModule, redisSettings } from '@pulse/platform';
import { postsTopic } from './catalog/posts.kafka.consumer';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from './config/recommender.config';
import { PrivacyModule } from './privacy/privacy.module';
import { ServingModule } from './serving/serving.module';
import { TrainingModule } from './training/training.module';

/**
 * config → logging, health, metrics → Kafka, Redis → serving (registry, promoted model, live state, catalogue,
 * gRPC RecsService) → scheduled training from the lake.
 */
@Module({})
export class AppModule {
  static forRoot(config: RecommenderConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }),
        KafkaModule.forRoot({
          settings: kafkaSettings(config),
          topics: [Topics.activityTracked, Topics.recsServed, Topics.recsModel, postsTopic(config.RECS_CDC_SCHEMA)],
        }),
        // The live state and the catalogue: without Redis, Recommend still answers from the model (and says so).
        RedisModule.forRoot({
          ...redisSettings(config.SERVICE_NAME, config),
          critical: false,
          // Every Recommend call reads the live state and the catalogue: concurrent calls' commands share a write.
          autoPipelining: true,
        }),
        ErasureListModule.forRoot({ service: config.SERVICE_NAME, subjectKey: config.PRIVACY_SUBJECT_KEY }),
        PrivacyModule,
        ServingModule,
        TrainingModule,
      ],
      providers: [{ provide: RECOMMENDER_CONFIG, useValue: config }],
      exports: [RECOMMENDER_CONFIG],
    };
  }
}
