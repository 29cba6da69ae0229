import { PG_POOL } from '@pulse/platform';
import { Global, Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from '../config/feature-store.config';
import { RegistryCache } from './registry.cache';
import { RegistryRepository } from './registry.pg.repository';

@Global()
@Module({
  providers: [
    {
      provide: RegistryRepository,
      inject: [PG_POOL, FEATURE_STORE_CONFIG],
      useFactory: (pool: Pool, config: FeatureStoreConfig) => new RegistryRepository(pool, config.FEATURE_STORE_PG_SCHEMA),
    },
    RegistryCache,
  ],
  exports: [RegistryRepository, RegistryCache],
})
export class RegistryModule {}
