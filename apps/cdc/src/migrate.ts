import { migrationsDir, runMigrateCommand, runMigrations } from '@pulse/platform';
import { loadCdcConfig } from './config/cdc.config';

/** `nx run cdc:migrate` / `node dist/apps/cdc/migrate.js`: applies apps/cdc/migrations to PG_URL, schema CDC_SCHEMA. */
runMigrateCommand(async () => {
  const config = loadCdcConfig();
  const dir = migrationsDir('cdc', __dirname, config.CDC_MIGRATIONS_DIR);
  const result = await runMigrations({ pgUrl: config.PG_URL, schema: config.CDC_SCHEMA, dir, applicationName: 'pulse-cdc-migrate' });
  return [{ target: `schema "${config.CDC_SCHEMA}"`, result }];
});
