import { DynamicModule, Module } from '@nestjs/common';
import { type Logger, migrationsDir, PlatformModule, PostgresModule } from '@pulse/platform';
import { EXPERIMENTS_CONFIG, type ExperimentsConfig } from './config/experiments.config';
import { ExperimentsModule } from './experiments/experiments.module';

/** config → logging, health, metrics → infrastructure → the experiments slice. */
@Module({})
export class AppModule {
  static forRoot(config: ExperimentsConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }),
        PostgresModule.forRoot({
          url: config.PG_URL,
          schema: config.EXPERIMENTS_PG_SCHEMA,
          applicationName: config.SERVICE_NAME,
          migrate: config.EXPERIMENTS_AUTO_MIGRATE && { dir: migrationsDir('experiments', __dirname, config.EXPERIMENTS_MIGRATIONS_DIR) },
          requiredTable: {
            table: 'experiments',
            missing: 'experiments tables: run `nx run experiments:migrate` (node migrate.js) or set EXPERIMENTS_AUTO_MIGRATE=true',
          },
        }),
        ExperimentsModule,
      ],
      providers: [{ provide: EXPERIMENTS_CONFIG, useValue: config }],
      exports: [EXPERIMENTS_CONFIG],
    };
  }
}
