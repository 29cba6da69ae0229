import { type CreateTableOptions, DeltaTable, LakeEngine, type LakeStorage, LocalLakeStorage, S3LakeStorage } from '@pulse/lake';
import { grpcErrors, type Logger } from '@pulse/platform';
import { resolve } from 'node:path';
import type { EtlConfig } from '../config/etl.config';

export interface ManagedTable {
  name: string;
  table: DeltaTable;
}

/**
 * The lake as the etl service sees it: one storage (directory or bucket), one DuckDB engine, and the
 * Delta tables it manages, opened once and shared by streams, maintenance and backfills.
 */
export class Lake {
  private readonly tables = new Map<string, Promise<ManagedTable>>();

  private constructor(
    readonly storage: LakeStorage,
    readonly engine: LakeEngine,
    private readonly logger: Logger,
  ) {}

  static async open(config: EtlConfig, logger: Logger): Promise<Lake> {
    const storage =
      config.LAKE_BACKEND === 's3'
        ? await new S3LakeStorage({
            endpoint: config.LAKE_S3_ENDPOINT || undefined,
            region: config.LAKE_S3_REGION,
            bucket: config.LAKE_S3_BUCKET,
            prefix: config.LAKE_S3_PREFIX,
            accessKeyId: config.LAKE_S3_ACCESS_KEY_ID,
            secretAccessKey: config.LAKE_S3_SECRET_ACCESS_KEY,
            forcePathStyle: config.LAKE_S3_FORCE_PATH_STYLE,
            createBucket: config.LAKE_S3_CREATE_BUCKET,
          }).init()
        : new LocalLakeStorage(resolve(config.LAKE_ROOT));
    const engine = await LakeEngine.create({ memoryLimit: config.LAKE_MEMORY_LIMIT });
    logger.info({ lake: storage.location }, 'lake opened');
    return new Lake(storage, engine, logger);
  }

  /** Creates the table at `path` if needed and returns its shared handle. */
  table(name: string, path: string, create: CreateTableOptions): Promise<ManagedTable> {
    let entry = this.tables.get(name);
    if (!entry) {
      entry = DeltaTable.create(this.storage, path, create, {
        engine: this.engine,
        onWarning: (message, error) => this.logger.warn({ err: error, table: name }, message),
      }).then((table) => ({ name, table }));
      entry.catch(() => this.tables.delete(name));
      this.tables.set(name, entry);
    }
    return entry;
  }

  /** The managed table of that name, or undefined. */
  async find(name: string): Promise<ManagedTable | undefined> {
    return this.tables.get(name);
  }

  /** The managed table of that name; NOT_FOUND for the caller when there is none. */
  async get(name: string): Promise<ManagedTable> {
    const table = await this.find(name);
    if (!table) throw grpcErrors.notFound(`table ${name}`);
    return table;
  }

  async all(): Promise<ManagedTable[]> {
    const settled = await Promise.allSettled(this.tables.values());
    return settled
      .flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  close(): void {
    if (this.storage instanceof S3LakeStorage) this.storage.close();
    this.engine.close();
  }
}
