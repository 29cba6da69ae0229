import { ConfigError } from '@pulse/platform';
import { loadFeatureStoreConfig } from './feature-store.config';

describe('feature store config', () => {
  it('has working defaults for the local stack', () => {
    // Unset whatever the environment of the test run sets, so the defaults are what is checked.
    const config = loadFeatureStoreConfig({
      GRPC_PORT: undefined,
      HTTP_PORT: undefined,
      FEATURE_STORE_REGISTRY_REFRESH: undefined,
      LAKE_ROOT: undefined,
    });
    expect(config).toMatchObject({ GRPC_PORT: 50055, HTTP_PORT: 8085, FEATURE_STORE_REGISTRY_REFRESH: 5000, LAKE_ROOT: 'tmp/lake' });
  });

  it('names each bad variable', () => {
    try {
      loadFeatureStoreConfig({
        FEATURE_STORE_REGISTRY_REFRESH: '0s',
        FEATURE_STORE_DUCKDB_MEMORY: 'lots',
        FEATURE_STORE_PG_SCHEMA: 'Bad-Schema',
      });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
        'FEATURE_STORE_DUCKDB_MEMORY',
        'FEATURE_STORE_PG_SCHEMA',
        'FEATURE_STORE_REGISTRY_REFRESH',
      ]);
    }
  });
});
