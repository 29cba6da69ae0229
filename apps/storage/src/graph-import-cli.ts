import { grpcClient, peerSecurity } from '@pulse/platform';
import { runGraphImport } from './cli/graph-import-command';
import { loadCliConfig } from './config/storage.config';

/** `node dist/apps/storage/graph-import.js <edges-file> [flags]`: a bulk import of follow edges (BulkImportFollows). */
async function main() {
  const config = loadCliConfig();
  const client = grpcClient(config.STORAGE_GRPC_ADDR, 'pulse/storage/v1/storage_service.proto', 'pulse.storage.v1.StorageService', {
    ...peerSecurity(config),
    // Messages of up to 10,000 edges.
    channelOptions: { 'grpc.max_send_message_length': 16 * 1024 * 1024 },
  });
  try {
    const result = await runGraphImport(process.argv.slice(2), client, (line) => process.stderr.write(`graph-import: ${line}\n`));
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
