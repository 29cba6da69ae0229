import {
  closeLakeStorage,
  type CreateTableOptions,
  DeltaTable,
  LakeEngine,
  type LakeStorage,
  lakeLocation,
  openLakeStorage,
} from '@pulse/lake';
import { grpcErrors, type Logger } from '@pulse/platform';
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
    const storage = await openLakeStorage(lakeLocation(config));
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
    closeLakeStorage(this.storage);
    this.engine.close();
  }
}
