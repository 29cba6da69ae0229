import { DynamicModule, Module } from '@nestjs/common';
import { type Logger, migrationsDir, PlatformModule, PostgresModule } from '@pulse/platform';
import { ANALYTICS_CONFIG, type AnalyticsConfig } from './config/analytics.config';
import { AnalyticsModule } from './analytics/analytics.module';

/** config → logging, health, metrics → infrastructure → the analytics slice. */
@Module({})
export class AppModule {
  static forRoot(config: AnalyticsConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }),
        PostgresModule.forRoot({
          url: config.PG_URL,
          schema: config.ANALYTICS_PG_SCHEMA,
          applicationName: config.SERVICE_NAME,
          migrate: config.ANALYTICS_AUTO_MIGRATE && { dir: migrationsDir('analytics', __dirname, config.ANALYTICS_MIGRATIONS_DIR) },
          requiredTable: {
            table: 'job_runs',
            missing: 'analytics tables: run `nx run analytics:migrate` (node migrate.js) or set ANALYTICS_AUTO_MIGRATE=true',
          },
        }),
        AnalyticsModule,
      ],
      providers: [{ provide: ANALYTICS_CONFIG, useValue: config }],
      exports: [ANALYTICS_CONFIG],
    };
  }
}
