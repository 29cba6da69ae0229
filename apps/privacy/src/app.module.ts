import { DynamicModule, Module } from '@nestjs/common';
import { Topics } from '@pulse/contracts';
import {
  KafkaModule,
  kafkaSettings,
  type Logger,
  migrationsDir,
  PlatformModule,
  PostgresModule,
  RedisModule,
  redisSettings,
} from '@pulse/platform';
import { PRIVACY_CONFIG, type PrivacyConfig } from './config/privacy.config';
import { ErasureModule } from './erasure/erasure.module';

/** config → logging, health, metrics → PostgreSQL (jobs), Kafka (the erasure list), Redis → erasure. */
@Module({})
export class AppModule {
  static forRoot(config: PrivacyConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }),
        PostgresModule.forRoot({
          url: config.PG_URL,
          schema: config.PRIVACY_PG_SCHEMA,
          applicationName: config.SERVICE_NAME,
          migrate: config.PRIVACY_AUTO_MIGRATE && { dir: migrationsDir('privacy', __dirname, config.PRIVACY_MIGRATIONS_DIR) },
          requiredTable: {
            table: 'erasure_jobs',
            missing: 'privacy tables: run `nx run privacy:migrate` (node migrate.js) or set PRIVACY_AUTO_MIGRATE=true',
          },
        }),
        KafkaModule.forRoot({
          settings: kafkaSettings(config),
          topics: [Topics.privacyErasures],
        }),
        RedisModule.forRoot({
          ...redisSettings(config.SERVICE_NAME, config),
          critical: true,
        }),
        ErasureModule,
      ],
      providers: [{ provide: PRIVACY_CONFIG, useValue: config }],
      exports: [PRIVACY_CONFIG],
    };
  }
}
