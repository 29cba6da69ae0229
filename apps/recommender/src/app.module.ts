import { DynamicModule, Module } from '@nestjs/common';
import { type Logger, PlatformModule } from '@pulse/platform';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from './config/recommender.config';
import { ServingModule } from './serving/serving.module';

/** config → logging, health, metrics → serving (registry, promoted model, gRPC RecsService). */
@Module({})
export class AppModule {
  static forRoot(config: RecommenderConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }), ServingModule],
      providers: [{ provide: RECOMMENDER_CONFIG, useValue: config }],
      exports: [RECOMMENDER_CONFIG],
    };
  }
}
