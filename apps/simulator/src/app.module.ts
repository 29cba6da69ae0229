import { DynamicModule, Module } from '@nestjs/common';
import { type Logger, migrationsDir, PlatformModule, PostgresModule } from '@pulse/platform';
import { SIMULATOR_CONFIG, type SimulatorConfig } from './config/simulator.config';
import { SimulatorModule } from './simulator/simulator.module';

/** config → logging, health, metrics → PostgreSQL (the own schema; the app schema is checked when the world opens) → the simulator slice. */
@Module({})
export class AppModule {
  static forRoot(config: SimulatorConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }),
        PostgresModule.forRoot({
          url: config.PG_URL,
          schema: config.SIMULATOR_PG_SCHEMA,
          applicationName: config.SERVICE_NAME,
          migrate: config.SIMULATOR_AUTO_MIGRATE && { dir: migrationsDir('simulator', __dirname, config.SIMULATOR_MIGRATIONS_DIR) },
          requiredTable: {
            table: 'worlds',
            missing: 'simulator tables: run `nx run simulator:migrate` (node migrate.js) or set SIMULATOR_AUTO_MIGRATE=true',
          },
        }),
        SimulatorModule,
      ],
      providers: [{ provide: SIMULATOR_CONFIG, useValue: config }],
      exports: [SIMULATOR_CONFIG],
    };
  }
}
