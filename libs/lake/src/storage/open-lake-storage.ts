import { resolve } from 'node:path';
import type { LakeStorage } from './lake-storage';
import { LocalLakeStorage } from './local.lake-storage';
import { type S3LakeSettings, S3LakeStorage } from './s3.lake-storage';

/** Where a lake lives, as services configure it (LAKE_BACKEND, LAKE_ROOT, LAKE_S3_*). */
export type LakeLocation = { backend: 'fs'; root: string } | { backend: 's3'; s3: S3LakeSettings };

/** The lake variables of a service's configuration (etl's and privacy's schemas spell them the same). */
export interface LakeEnv {
  LAKE_BACKEND: 'fs' | 's3';
  LAKE_ROOT: string;
  LAKE_S3_ENDPOINT: string;
  LAKE_S3_REGION: string;
  LAKE_S3_BUCKET: string;
  LAKE_S3_PREFIX: string;
  LAKE_S3_ACCESS_KEY_ID: string;
  LAKE_S3_SECRET_ACCESS_KEY: string;
  LAKE_S3_FORCE_PATH_STYLE: boolean;
  LAKE_S3_CREATE_BUCKET?: boolean;
}

/** Where the lake of a configuration lives. */
export function lakeLocation(env: LakeEnv): LakeLocation {
  if (env.LAKE_BACKEND === 'fs') return { backend: 'fs', root: env.LAKE_ROOT };
  return {
    backend: 's3',
    s3: {
      endpoint: env.LAKE_S3_ENDPOINT || undefined,
      region: env.LAKE_S3_REGION,
      bucket: env.LAKE_S3_BUCKET,
      prefix: env.LAKE_S3_PREFIX,
      accessKeyId: env.LAKE_S3_ACCESS_KEY_ID,
      secretAccessKey: env.LAKE_S3_SECRET_ACCESS_KEY,
      forcePathStyle: env.LAKE_S3_FORCE_PATH_STYLE,
      createBucket: env.LAKE_S3_CREATE_BUCKET ?? false,
    },
  };
}

/** The storage of a lake: a local directory (resolved against the working directory) or an initialised bucket. */
export async function openLakeStorage(location: LakeLocation): Promise<LakeStorage> {
  return location.backend === 's3' ? new S3LakeStorage(location.s3).init() : new LocalLakeStorage(resolve(location.root));
}

/** Releases what a storage holds open (an S3 client's sockets); nothing for a local directory. */
export function closeLakeStorage(storage: LakeStorage): void {
  if (storage instanceof S3LakeStorage) storage.close();
}
