import { grpcClient, peerSecurity } from '@pulse/platform';
import { loadCliConfig } from './config/experiments.config';
import { runExperimentsCommand } from './cli/experiments-commands';

/** `node dist/apps/experiments/experiments-cli.js create|start|stop|list|get|results ...` against ExperimentsService. */
async function main() {
  const config = loadCliConfig();
  const client = grpcClient(
    config.EXPERIMENTS_GRPC_ADDR,
    'pulse/experiments/v1/experiments_service.proto',
    'pulse.experiments.v1.ExperimentsService',
    peerSecurity(config),
  );
  try {
    const result = await runExperimentsCommand(process.argv.slice(2), client);
    process.stdout.write(result.output);
    process.exitCode = result.exitCode;
  } finally {
    client.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
