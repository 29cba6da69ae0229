import { defineService, type RunningApp as Running } from '@pulse/platform';
import { AppModule } from './app.module';
import { type FeatureStoreConfig, loadFeatureStoreConfig } from './config/feature-store.config';

export type RunningApp = Running<FeatureStoreConfig>;

/**
 * Starts the feature store: gRPC FeaturesService (plus health and reflection), HTTP health/metrics and
 * the aggregates consumer. `main.ts` and the integration tests start it here.
 */
export const createApp = defineService({
  loadConfig: loadFeatureStoreConfig,
  module: AppModule.forRoot,
  grpc: { package: 'pulse.features.v1', service: 'FeaturesService' },
});
