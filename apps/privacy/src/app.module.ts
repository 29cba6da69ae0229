import { DynamicModule, Module } from '@nestjs/common';
import { type Logger, migrationsDir, PlatformModule, PostgresModule, RedisModule } from '@pulse/platform';
import { PRIVACY_CONFIG, type PrivacyConfig } from './config/privacy.config';
import { PrivacyModule } from './privacy/privacy.module';

/** config → logging, health, metrics → infrastructure → the privacy slice. */
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
            table: 'handled_events',
            missing: 'privacy tables: run `nx run privacy:migrate` (node migrate.js) or set PRIVACY_AUTO_MIGRATE=true',
          },
        }),
        RedisModule.forRoot({ url: config.REDIS_URL, critical: true }),
        PrivacyModule,
      ],
      providers: [{ provide: PRIVACY_CONFIG, useValue: config }],
      exports: [PRIVACY_CONFIG],
    };
  }
}
