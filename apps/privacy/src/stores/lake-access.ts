import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { closeLakeStorage, lakeLocation, LakeEngine, type LakeStorage, openLakeStorage } from '@pulse/lake';
import { PRIVACY_CONFIG, type PrivacyConfig } from '../config/privacy.config';

/**
 * The lake as the privacy service reaches it: the storage the etl service writes (LAKE_BACKEND, LAKE_ROOT,
 * LAKE_S3_*) and a DuckDB engine, opened on first use; and the Delta tables in it, found by their logs.
 */
@Injectable()
export class LakeAccess implements OnApplicationShutdown {
  private opened?: Promise<{ storage: LakeStorage; engine: LakeEngine }>;

  constructor(@Inject(PRIVACY_CONFIG) private readonly config: PrivacyConfig) {}

  /** Whether a lake is configured. */
  get enabled(): boolean {
    return this.config.LAKE_BACKEND === 's3' || this.config.LAKE_ROOT !== '';
  }

  open(): Promise<{ storage: LakeStorage; engine: LakeEngine }> {
    this.opened ??= (async () => {
      const c = this.config;
      const storage = await openLakeStorage(lakeLocation(c));
      return { storage, engine: await LakeEngine.create({ memoryLimit: c.LAKE_MEMORY_LIMIT, threads: 2 }) };
    })();
    this.opened.catch(() => (this.opened = undefined));
    return this.opened;
  }

  /** Every Delta table of the lake (a directory with a `_delta_log`), by path, sorted. */
  async tables(): Promise<string[]> {
    const { storage } = await this.open();
    const paths = new Set<string>();
    for (const object of await storage.list('')) {
      const at = object.key.indexOf('/_delta_log/');
      if (at > 0) paths.add(object.key.slice(0, at));
    }
    return [...paths].sort();
  }

  async onApplicationShutdown() {
    if (!this.opened) return;
    const { storage, engine } = await this.opened.catch(() => ({ storage: undefined, engine: undefined }));
    if (storage) closeLakeStorage(storage);
    engine?.close();
  }
}
