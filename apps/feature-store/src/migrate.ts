import { migrationsDir, runMigrateCommand, runMigrations } from '@pulse/platform';
import { loadFeatureStoreConfig } from './config/feature-store.config';

/** `nx run feature-store:migrate` / `node dist/apps/feature-store/migrate.js`: applies the SQL migrations to PG_URL, schema FEATURE_STORE_PG_SCHEMA. */
runMigrateCommand(async () => {
  const config = loadFeatureStoreConfig();
  const dir = migrationsDir('feature-store', __dirname, config.FEATURE_STORE_MIGRATIONS_DIR);
  const result = await runMigrations({
    pgUrl: config.PG_URL,
    schema: config.FEATURE_STORE_PG_SCHEMA,
    dir,
    applicationName: 'pulse-feature-store-migrate',
  });
  return [{ target: `schema "${config.FEATURE_STORE_PG_SCHEMA}"`, result }];
});
