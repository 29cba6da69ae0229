import { defineService, type RunningApp as Running } from '@pulse/platform';
import { AppModule } from './app.module';
import { type IngestConfig, loadIngestConfig } from './config/ingest.config';

export type RunningApp = Running<IngestConfig>;

/**
 * Starts the ingest service (gRPC IngestService, health, reflection, HTTP health/metrics). `main.ts` and
 * the integration tests both start it here; tests pass overrides such as `{ GRPC_PORT: '0', HTTP_PORT: '0' }`.
 */
export const createApp = defineService({
  loadConfig: loadIngestConfig,
  module: AppModule.forRoot,
  // TrackEvents writes each plain event's bytes as the request carried them (event-bytes.ts).
  grpc: { package: 'pulse.ingest.v1', service: 'IngestService', keepRequestBytes: ['TrackEvents'] },
});
