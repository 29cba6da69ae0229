import type { LakeEngine } from '../engine/duckdb.engine';
import type { LakeStorage } from '../storage/lake-storage';
import type { TableState } from './table-state';

/**
 * An open table as its operations see it: where it lives, the DuckDB engine for its Parquet and the
 * log state read so far. The state is replaced, never changed in place, when commits are read or
 * written, so a snapshot taken before stays as it was.
 */
export interface TableContext {
  readonly storage: LakeStorage;
  /** Key of the table's root in the storage, e.g. `bronze/activity`. */
  readonly path: string;
  /** The storage's location joined with the path, for messages. */
  readonly location: string;
  readonly engine: LakeEngine;
  /** Called with problems that do not fail the operation (a checkpoint that could not be written). */
  readonly onWarning: (message: string, error: unknown) => void;
  state: TableState;
}
