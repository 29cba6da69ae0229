import { migrationsDir, runMigrateCommand, runMigrations } from '@pulse/platform';
import { loadExperimentsConfig } from './config/experiments.config';

/** `nx run experiments:migrate` / `node dist/apps/experiments/migrate.js`: applies apps/experiments/migrations. */
runMigrateCommand(async () => {
  const config = loadExperimentsConfig();
  const dir = migrationsDir('experiments', __dirname, config.EXPERIMENTS_MIGRATIONS_DIR);
  const result = await runMigrations({
    pgUrl: config.PG_URL,
    schema: config.EXPERIMENTS_PG_SCHEMA,
    dir,
    applicationName: 'experiments-migrate',
  });
  return [{ target: `schema "${config.EXPERIMENTS_PG_SCHEMA}"`, result }];
});
