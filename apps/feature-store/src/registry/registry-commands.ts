import { Pool } from 'pg';
import type { FeatureStoreConfig } from '../config/feature-store.config';
import { migrationsDir, runMigrations } from '@pulse/platform';
import { DefinitionError, loadDefinitionRepo } from './definitions';
import { formatPlan, type Plan } from './registry-plan';
import { BreakingChangeError, RegistryRepository } from './registry.pg.repository';

export interface CommandResult {
  /** 0 done, 1 invalid definitions or failure, 3 breaking changes refused. */
  exitCode: number;
  output: string;
  plan?: Plan;
  version?: number;
}

export const USAGE = `usage: registry-cli plan|apply [--repo DIR] [--force]
  plan    compare the definition files with the registry in PostgreSQL and print what apply would change
  apply   store the definitions as a new registry version (nothing when unchanged); breaking changes need --force
  --repo  definitions directory (default FEATURE_STORE_REPO_DIR)
`;

/**
 * `plan` and `apply` (like Feast's): read every YAML file of the repo, validate the whole project, diff
 * it against the latest registry version of its project and, for apply, store a new version.
 */
export async function runRegistryCommand(argv: readonly string[], config: FeatureStoreConfig, appliedBy = ''): Promise<CommandResult> {
  const [command, ...rest] = argv;
  let repo = config.FEATURE_STORE_REPO_DIR;
  let force = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--force') force = true;
    else if (rest[i] === '--repo' && rest[i + 1]) repo = rest[++i];
    else return { exitCode: 1, output: `unknown argument "${rest[i]}"\n${USAGE}` };
  }
  if (command !== 'plan' && command !== 'apply') return { exitCode: 1, output: USAGE };
  let definitions;
  try {
    definitions = loadDefinitionRepo(repo);
  } catch (error) {
    if (error instanceof DefinitionError) return { exitCode: 1, output: `${error.message}\n` };
    throw error;
  }
  if (definitions.project !== config.FEATURE_STORE_PROJECT) {
    return {
      exitCode: 1,
      output: `the repo declares project "${definitions.project}", FEATURE_STORE_PROJECT is "${config.FEATURE_STORE_PROJECT}"\n`,
    };
  }
  await runMigrations({
    pgUrl: config.PG_URL,
    schema: config.FEATURE_STORE_PG_SCHEMA,
    dir: migrationsDir('feature-store', __dirname, config.FEATURE_STORE_MIGRATIONS_DIR),
  });
  const pool = new Pool({ connectionString: config.PG_URL, max: 1, application_name: 'pulse-feature-store-registry' });
  try {
    const registry = new RegistryRepository(pool, config.FEATURE_STORE_PG_SCHEMA);
    if (command === 'plan') {
      const { plan, version } = await registry.plan(definitions);
      return { exitCode: 0, output: formatPlan(plan, definitions.project, version), plan, version };
    }
    try {
      const result = await registry.apply(definitions, { force, appliedBy });
      const { plan, version } = result;
      const text = result.applied
        ? `${formatPlan(plan, definitions.project, version - 1)}applied: registry version ${version}${plan.breaking.length > 0 ? ' (breaking changes forced)' : ''}\n`
        : formatPlan(plan, definitions.project, version);
      return { exitCode: 0, output: text, plan, version };
    } catch (error) {
      if (error instanceof BreakingChangeError) {
        const { version } = await registry.plan(definitions);
        return {
          exitCode: 3,
          output: `${formatPlan(error.plan, definitions.project, version)}${error.message}\n`,
          plan: error.plan,
          version,
        };
      }
      throw error;
    }
  } finally {
    await pool.end();
  }
}
