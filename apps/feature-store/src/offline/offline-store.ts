import { Inject, Injectable } from '@nestjs/common';
import { type DeltaColumn, DeltaTable, DeltaTableNotFoundError, LocalLakeStorage, scanSql } from '@pulse/lake';
import { grpcErrors } from '@pulse/platform';
import { resolve } from 'node:path';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from '../config/feature-store.config';
import type { PlainValue } from '../online/value-codec';
import type { ValueTypeName } from '../registry/definitions';
import type { ServedView } from '../registry/loaded-registry';
import { OfflineEngine } from './duckdb.provider';
import { fileRelation, lakePath } from './lake-paths';

/** One row for a view's offline table. */
export interface OfflineRow {
  keys: ReadonlyMap<string, PlainValue>;
  values: ReadonlyMap<string, PlainValue>;
  eventTimeMs: number;
  createdTimeMs: number;
}

/** Delta column type of a declared type; undefined when a Delta table of the lake cannot hold it. */
const DELTA_TYPES: Partial<Record<ValueTypeName, DeltaColumn['type']>> = {
  int32: 'integer',
  int64: 'long',
  float: 'double',
  double: 'double',
  string: 'string',
  bool: 'boolean',
  timestamp: 'timestamp',
};

/**
 * The offline store: each view's batch source under the lake root. Delta tables are read at their
 * latest version through @pulse/lake (the snapshot's files, as a DuckDB table expression); file sources
 * directly as Parquet/CSV. Push with an offline mode appends to the view's Delta table (one commit per
 * request), creating it on first use.
 */
@Injectable()
export class OfflineStore {
  private readonly storage: LocalLakeStorage;

  constructor(
    @Inject(FEATURE_STORE_CONFIG) private readonly config: FeatureStoreConfig,
    private readonly engine: OfflineEngine,
  ) {
    // Absolute, so the table expressions name files the entity query's sandbox may open.
    this.storage = new LocalLakeStorage(resolve(config.LAKE_ROOT));
  }

  /** DuckDB table expression over the view's offline rows. */
  async relation(view: ServedView): Promise<string> {
    const batch = view.def.source.batch;
    if (!batch) throw new Error(`feature view ${view.def.name} has no offline source`);
    if (batch.type === 'file') return fileRelation(lakePath(this.config.LAKE_ROOT, batch.location, 'location'));
    return (await this.openDelta(view, batch.location)).scanSql();
  }

  /**
   * The view's Delta table now, and (when `sinceVersion` is given and still readable in the log) a table
   * expression over only the data files added after that version: rows appended since, whatever their
   * event time. Files rewritten by compaction count as added (their rows are read again; writes stay
   * idempotent). Undefined for a source that is not a Delta table.
   */
  async deltaChanges(
    view: ServedView,
    sinceVersion?: number,
  ): Promise<{ version: number; relation: string; added?: string; addedFiles: number } | undefined> {
    const batch = view.def.source.batch;
    if (batch?.type !== 'delta') return undefined;
    const table = await this.openDelta(view, batch.location);
    const now = table.snapshot();
    const relation = await table.scanSql(now);
    if (sinceVersion === undefined || sinceVersion > now.version) return { version: now.version, relation, addedFiles: 0 };
    let before;
    try {
      before = await table.snapshotAt(sinceVersion);
    } catch {
      // That version's log entries are gone (log retention): no diff, the caller reads by time.
      return { version: now.version, relation, addedFiles: 0 };
    }
    const known = new Set(before.files.map((f) => f.path));
    const files = now.files.filter((f) => !known.has(f.path));
    return {
      version: now.version,
      relation,
      added: await scanSql(this.storage, batch.location, { ...now, files }),
      addedFiles: files.length,
    };
  }

  /**
   * Appends rows to the Delta batch source of `views` (the views of one push source, which share their
   * source and so one table: its columns are the union of their features), in one commit;
   * FAILED_PRECONDITION when the table cannot hold them.
   */
  async append(views: readonly ServedView[], rows: readonly OfflineRow[]): Promise<number> {
    const view = views[0];
    const batch = view.def.source.batch;
    if (!batch || batch.type !== 'delta')
      throw grpcErrors.failedPrecondition(`feature view ${view.def.name} has no Delta batch source to push offline rows to`);
    const columns: DeltaColumn[] = [];
    for (const key of view.joinKeys) {
      const keyType = view.joinKeyTypes.get(key);
      const type = keyType && DELTA_TYPES[keyType];
      if (!type) throw grpcErrors.failedPrecondition(`join key ${key} cannot be stored in a Delta table`);
      columns.push({ name: key, type });
    }
    columns.push({ name: batch.timestampField, type: 'timestamp' });
    if (batch.createdTimestampField) columns.push({ name: batch.createdTimestampField, type: 'timestamp' });
    const features = new Map<string, ServedView['def']['features'][number]>();
    for (const v of views) for (const f of v.def.features) if (!features.has(f.name)) features.set(f.name, f);
    for (const f of features.values()) {
      const type = DELTA_TYPES[f.valueType];
      if (!type)
        throw grpcErrors.failedPrecondition(
          `feature ${f.name} of type ${f.valueType} cannot be stored in a Delta table; push it online only`,
        );
      columns.push({ name: f.name, type });
    }
    const table = await this.openOrCreate(view, batch.location, columns);
    const existing = new Map(table.snapshot().schema.map((c) => [c.name, c.type]));
    const mismatch = columns.filter((c) => existing.get(c.name) !== c.type);
    if (mismatch.length > 0) {
      throw grpcErrors.failedPrecondition(
        `the Delta table ${batch.location} does not have the view's columns ${mismatch.map((c) => `${c.name} ${c.type}`).join(', ')} (its schema: ${[...existing].map(([n, t]) => `${n} ${t}`).join(', ')})`,
      );
    }
    const records = rows.map((r) => {
      const record: Record<string, unknown> = {};
      for (const key of view.joinKeys) record[key] = r.keys.get(key);
      record[batch.timestampField] = new Date(r.eventTimeMs).toISOString();
      if (batch.createdTimestampField) record[batch.createdTimestampField] = new Date(r.createdTimeMs).toISOString();
      for (const f of features.values()) {
        const v = r.values.get(f.name) ?? null;
        record[f.name] = f.valueType === 'timestamp' && typeof v === 'number' ? new Date(v).toISOString() : v;
      }
      return record;
    });
    const result = await table.append(records, {
      operation: 'WRITE',
      operationParameters: { mode: 'Append', source: 'feature-store push' },
    });
    return result.version;
  }

  /** The view's Delta table; an error naming the view when there is none. */
  private async openDelta(view: ServedView, location: string): Promise<DeltaTable> {
    try {
      return await DeltaTable.open(this.storage, location, { engine: await this.engine.lake() });
    } catch (error) {
      if (error instanceof DeltaTableNotFoundError)
        throw new Error(`feature view ${view.def.name}: no Delta table at ${location} under the lake root`);
      throw error;
    }
  }

  private async openOrCreate(view: ServedView, location: string, columns: DeltaColumn[]): Promise<DeltaTable> {
    const options = { engine: await this.engine.lake() };
    if (await DeltaTable.exists(this.storage, location)) return DeltaTable.open(this.storage, location, options);
    try {
      return await DeltaTable.create(
        this.storage,
        location,
        { columns, name: view.def.name, description: `feature view ${view.def.name}` },
        options,
      );
    } catch (error) {
      // Another replica created it first.
      if (await DeltaTable.exists(this.storage, location)) return DeltaTable.open(this.storage, location, options);
      throw error;
    }
  }
}
