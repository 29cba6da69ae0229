import { DynamicModule, Module } from '@nestjs/common';
import {
  ErasureListModule,
  KafkaModule,
  kafkaSettings,
  type Logger,
  migrationsDir,
  PlatformModule,
  PostgresModule,
  RedisModule,
  redisSettings,
} from '@pulse/platform';
import { FeaturesModule } from './features/features.module';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from './config/feature-store.config';
import { RegistryModule } from './registry/registry.module';

/** config → logging, health, metrics → Kafka, the erasure list, Redis, PostgreSQL → registry → the FeaturesService slices. */
@Module({})
export class AppModule {
  static forRoot(config: FeatureStoreConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }),
        // The aggregates topics follow the registry; the consumer ensures them when it subscribes.
        KafkaModule.forRoot({ settings: kafkaSettings(config), topics: [] }),
        ErasureListModule.forRoot({ service: config.SERVICE_NAME, subjectKey: config.PRIVACY_SUBJECT_KEY }),
        // Online serving is the point of the service: without Redis it is not ready.
        RedisModule.forRoot({
          ...redisSettings(config.SERVICE_NAME, config),
          critical: true,
          autoPipelining: true,
        }),
        PostgresModule.forRoot({
          url: config.PG_URL,
          schema: config.FEATURE_STORE_PG_SCHEMA,
          applicationName: config.SERVICE_NAME,
          migrate: config.FEATURE_STORE_AUTO_MIGRATE && {
            dir: migrationsDir('feature-store', __dirname, config.FEATURE_STORE_MIGRATIONS_DIR),
          },
          requiredTable: {
            table: 'registry_versions',
            missing: 'feature store tables: run `nx run feature-store:migrate` (node migrate.js) or set FEATURE_STORE_AUTO_MIGRATE=true',
          },
        }),
        RegistryModule,
        FeaturesModule,
      ],
      providers: [{ provide: FEATURE_STORE_CONFIG, useValue: config }],
      exports: [FEATURE_STORE_CONFIG],
    };
  }
}
