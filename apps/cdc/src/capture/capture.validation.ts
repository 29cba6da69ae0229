import { grpcErrors } from '@pulse/platform';
import { ConditionError, renderCondition } from '../snapshot/snapshot-condition';

const MAX_REASON_LENGTH = 512;
const MAX_TABLES = 100;
const MAX_CHUNK_SIZE = 100_000;
const MAX_CONDITION_LENGTH = 4096;
/** `schema.table`, both lower-case PostgreSQL identifiers as written unquoted. */
const QUALIFIED_TABLE = /^[a-z_][a-z0-9_$]{0,62}\.[a-z_][a-z0-9_$]{0,62}$/;

/** The reason given to PauseCapture / ResumeCapture (logged). */
export function checkReason(reason: string): string {
  if (reason.length > MAX_REASON_LENGTH) throw grpcErrors.invalidArgument('reason', `at most ${MAX_REASON_LENGTH} characters`);
  return reason;
}

/** The tables of an incremental snapshot: distinct `schema.table` names, at least one when `required`. */
export function checkTables(tables: readonly string[], required: boolean): string[] {
  if (required && tables.length === 0) throw grpcErrors.invalidArgument('tables', 'at least one table is required');
  if (tables.length > MAX_TABLES) throw grpcErrors.invalidArgument('tables', `at most ${MAX_TABLES} tables`);
  tables.forEach((table, i) => {
    if (!QUALIFIED_TABLE.test(table))
      throw grpcErrors.invalidArgument(`tables[${i}]`, `"${table}" is not a schema.table name (lower-case identifiers)`);
    if (tables.indexOf(table) !== i) throw grpcErrors.invalidArgument(`tables[${i}]`, `${table} is listed twice`);
  });
  return [...tables];
}

/** TriggerIncrementalSnapshot: the tables, a chunk size (0 = the configured one) and a condition per listed table. */
export function checkSnapshotRequest(tables: readonly string[], chunkSize: number, conditions: Record<string, string>): string[] {
  const list = checkTables(tables, true);
  if (chunkSize > MAX_CHUNK_SIZE) throw grpcErrors.invalidArgument('chunk_size', `at most ${MAX_CHUNK_SIZE}`);
  for (const [table, condition] of Object.entries(conditions)) {
    if (!list.includes(table)) throw grpcErrors.invalidArgument(`additional_conditions[${table}]`, 'the table is not in tables');
    if (condition.length > MAX_CONDITION_LENGTH) {
      throw grpcErrors.invalidArgument(`additional_conditions[${table}]`, `at most ${MAX_CONDITION_LENGTH} characters`);
    }
  }
  return list;
}

/**
 * An `additional_conditions` predicate of `table` against its published columns: INVALID_ARGUMENT naming the
 * problem when it is outside the grammar of renderCondition (a subquery, a function call, a comment, an unknown
 * column…).
 */
export function checkCondition(table: string, condition: string, columns: readonly string[]): void {
  try {
    renderCondition(condition, columns, []);
  } catch (error) {
    if (error instanceof ConditionError) throw grpcErrors.invalidArgument(`additional_conditions[${table}]`, error.message);
    throw error;
  }
}

export function checkSnapshotId(id: string): string {
  if (!id) throw grpcErrors.invalidArgument('snapshot_id', 'required');
  return id;
}
