import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigError, HealthRegistry } from '@pulse/platform';
import { STORAGE_CONFIG, type StorageConfig } from '../config/storage.config';
import { BLOB_STORE, type BlobStore } from './blob-store';
import { FsBlobStore } from './fs.blob-store';
import type { LifecycleRule } from './lifecycle-rules';
import { MediaAudit } from './media-audit.service';
import { MediaBlobs } from './media-blobs.service';
import { LIFECYCLE_RULES, MediaLifecycleService } from './media-lifecycle.service';
import { MediaSweepScheduler } from './media-sweep.scheduler';
import { MediaRepository } from './media.cassandra.repository';
import { MediaService } from './media.service';
import { S3BlobStore } from './s3.blob-store';

/** The backend named by MEDIA_BACKEND. */
export function createBlobStore(config: StorageConfig): BlobStore {
  if (config.MEDIA_BACKEND === 'fs') return new FsBlobStore(config.MEDIA_ROOT, config.MEDIA_ARCHIVE_ROOT);
  return new S3BlobStore({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    bucket: config.S3_BUCKET,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    keyPrefix: config.S3_KEY_PREFIX,
    archiveStorageClass: config.S3_ARCHIVE_STORAGE_CLASS,
    partBytes: config.S3_PART_BYTES,
    createBucket: config.S3_CREATE_BUCKET,
  });
}

/** MEDIA_LIFECYCLE_RULES or MEDIA_LIFECYCLE_RULES_FILE (not both). */
export function lifecycleRulesOf(config: StorageConfig): LifecycleRule[] {
  if (config.MEDIA_LIFECYCLE_RULES.length > 0 && config.MEDIA_LIFECYCLE_RULES_FILE.length > 0) {
    throw new ConfigError(config.SERVICE_NAME, [
      { variable: 'MEDIA_LIFECYCLE_RULES_FILE', message: 'set either MEDIA_LIFECYCLE_RULES or MEDIA_LIFECYCLE_RULES_FILE, not both' },
    ]);
  }
  return config.MEDIA_LIFECYCLE_RULES.length > 0 ? config.MEDIA_LIFECYCLE_RULES : config.MEDIA_LIFECYCLE_RULES_FILE;
}

class BlobStoreLifecycle implements OnApplicationShutdown {
  constructor(@Inject(BLOB_STORE) private readonly store: BlobStore) {}

  async onApplicationShutdown() {
    await this.store.close();
  }
}

/** Media objects: PutMedia/GetMedia/GetMediaInfo/DeleteMedia, content-addressed blobs, lifecycle sweeps, the audit. */
@Module({
  providers: [
    {
      provide: BLOB_STORE,
      inject: [STORAGE_CONFIG, HealthRegistry],
      useFactory: async (config: StorageConfig, health: HealthRegistry) => {
        const store = createBlobStore(config);
        await store.init();
        // reported, but not deciding readiness: without the blob store only media RPCs fail, profiles and the graph still serve
        health.register('media', () => store.check(), { critical: false });
        return store;
      },
    },
    { provide: LIFECYCLE_RULES, inject: [STORAGE_CONFIG], useFactory: lifecycleRulesOf },
    BlobStoreLifecycle,
    MediaRepository,
    MediaBlobs,
    MediaService,
    MediaLifecycleService,
    MediaSweepScheduler,
    MediaAudit,
  ],
  exports: [MediaService, MediaLifecycleService, MediaRepository, MediaAudit],
})
export class MediaModule {}
