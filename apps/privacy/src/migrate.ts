import { migrationsDir, runMigrateCommand, runMigrations } from '@pulse/platform';
import { loadPrivacyConfig } from './config/privacy.config';

/** `nx run privacy:migrate` / `node dist/apps/privacy/migrate.js`: applies apps/privacy/migrations. */
runMigrateCommand(async () => {
  const config = loadPrivacyConfig();
  const dir = migrationsDir('privacy', __dirname, config.PRIVACY_MIGRATIONS_DIR);
  const result = await runMigrations({ pgUrl: config.PG_URL, schema: config.PRIVACY_PG_SCHEMA, dir, applicationName: 'privacy-migrate' });
  return [{ target: `schema "${config.PRIVACY_PG_SCHEMA}"`, result }];
});
