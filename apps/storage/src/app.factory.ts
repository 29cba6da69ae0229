import { defineService, type RunningApp as Running } from '@pulse/platform';
import { AppModule } from './app.module';
import { type StorageConfig, loadStorageConfig } from './config/storage.config';

export type RunningApp = Running<StorageConfig>;

/**
 * Starts the storage service: gRPC StorageService (plus health and reflection), HTTP health/metrics, the
 * activity and CDC consumers. `main.ts` and the integration tests start it here.
 */
export const createApp = defineService({
  loadConfig: loadStorageConfig,
  module: AppModule.forRoot,
  grpc: { package: 'pulse.storage.v1', service: 'StorageService' },
});
