import { loadFeatureStoreConfig } from './config/feature-store.config';
import { runMigrations } from './postgres/migration-runner';

/** `nx run feature-store:migrate` / `node dist/apps/feature-store/migrate.js`: applies the SQL migrations to PG_URL, schema FEATURE_STORE_PG_SCHEMA. */
async function main() {
  const config = loadFeatureStoreConfig();
  const result = await runMigrations(config.PG_URL, config.FEATURE_STORE_PG_SCHEMA);
  for (const m of result.applied) process.stdout.write(`applied ${m}\n`);
  process.stdout.write(
    `schema "${config.FEATURE_STORE_PG_SCHEMA}": ${result.applied.length} applied, ${result.alreadyApplied} already applied\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
