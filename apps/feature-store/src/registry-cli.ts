import { userInfo } from 'node:os';
import { loadFeatureStoreConfig } from './config/feature-store.config';
import { runRegistryCommand } from './registry/registry-commands';

/** `node dist/apps/feature-store/registry-cli.js plan|apply [--repo DIR] [--force]` (nx run feature-store:plan / :apply). */
async function main() {
  const config = loadFeatureStoreConfig();
  const result = await runRegistryCommand(process.argv.slice(2), config, safeUser());
  process.stdout.write(result.output);
  process.exitCode = result.exitCode;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
