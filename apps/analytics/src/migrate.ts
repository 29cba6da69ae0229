import { migrationsDir, runMigrateCommand, runMigrations } from '@pulse/platform';
import { loadAnalyticsConfig } from './config/analytics.config';

/** `nx run analytics:migrate` / `node dist/apps/analytics/migrate.js`: applies apps/analytics/migrations. */
runMigrateCommand(async () => {
  const config = loadAnalyticsConfig();
  const dir = migrationsDir('analytics', __dirname, config.ANALYTICS_MIGRATIONS_DIR);
  const result = await runMigrations({
    pgUrl: config.PG_URL,
    schema: config.ANALYTICS_PG_SCHEMA,
    dir,
    applicationName: 'analytics-migrate',
  });
  return [{ target: `schema "${config.ANALYTICS_PG_SCHEMA}"`, result }];
});
