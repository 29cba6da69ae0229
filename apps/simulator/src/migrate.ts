import { migrationsDir, runMigrateCommand, runMigrations } from '@pulse/platform';
import { loadSimulatorConfig } from './config/simulator.config';

/** `nx run simulator:migrate` / `node dist/apps/simulator/migrate.js`: applies apps/simulator/migrations. */
runMigrateCommand(async () => {
  const config = loadSimulatorConfig();
  const dir = migrationsDir('simulator', __dirname, config.SIMULATOR_MIGRATIONS_DIR);
  const result = await runMigrations({
    pgUrl: config.PG_URL,
    schema: config.SIMULATOR_PG_SCHEMA,
    dir,
    applicationName: 'simulator-migrate',
  });
  return [{ target: `schema "${config.SIMULATOR_PG_SCHEMA}"`, result }];
});
