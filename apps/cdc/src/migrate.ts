import { loadCdcConfig } from './config/cdc.config';
import { defaultMigrationsDir, runMigrations } from './migrations/migration-runner';

/** `nx run cdc:migrate` / `node dist/apps/cdc/migrate.js`: applies apps/cdc/migrations to PG_URL, schema CDC_SCHEMA. */
async function main() {
  const config = loadCdcConfig();
  const dir = config.CDC_MIGRATIONS_DIR ?? defaultMigrationsDir();
  const result = await runMigrations(config.PG_URL, config.CDC_SCHEMA, dir);
  for (const m of result.applied) process.stdout.write(`applied ${String(m.version).padStart(3, '0')}_${m.name}\n`);
  process.stdout.write(`schema "${config.CDC_SCHEMA}": ${result.applied.length} applied, ${result.alreadyApplied} already applied\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
