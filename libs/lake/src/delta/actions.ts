/**
 * Delta Lake log actions as written in `_delta_log/<version>.json`, one JSON object per line
 * (delta-io/delta PROTOCOL.md, "Actions"). Only the reader/writer version 1/2 feature set is used:
 * no deletion vectors, column mapping or timestamp_ntz, so every Delta reader can read the tables.
 */

export type DeltaPrimitiveType = 'string' | 'long' | 'integer' | 'double' | 'boolean' | 'timestamp' | 'date';
export type DeltaColumnType = DeltaPrimitiveType | 'map<string,string>';

export interface DeltaColumn {
  name: string;
  type: DeltaColumnType;
  /** Defaults to true. */
  nullable?: boolean;
}

export interface ProtocolAction {
  minReaderVersion: number;
  minWriterVersion: number;
}

export interface MetadataAction {
  id: string;
  name?: string | null;
  description?: string | null;
  format: { provider: 'parquet'; options: Record<string, string> };
  schemaString: string;
  partitionColumns: string[];
  configuration: Record<string, string>;
  createdTime?: number | null;
}

export interface AddAction {
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  modificationTime: number;
  dataChange: boolean;
  /** JSON: numRecords, minValues, maxValues, nullCount. */
  stats?: string | null;
  tags?: Record<string, string> | null;
}

export interface RemoveAction {
  path: string;
  deletionTimestamp: number;
  dataChange: boolean;
  extendedFileMetadata?: boolean;
  partitionValues?: Record<string, string | null>;
  size?: number;
}

/** Application transaction: the last version of an application (e.g. a stream's next offset) committed. */
export interface TxnAction {
  appId: string;
  version: number;
  lastUpdated?: number;
}

export interface CommitInfo {
  timestamp: number;
  operation: string;
  operationParameters?: Record<string, string>;
  readVersion?: number;
  isBlindAppend?: boolean;
  operationMetrics?: Record<string, string>;
  engineInfo?: string;
  /** Free-form fields are allowed by the protocol; Pulse streams keep their checkpoint here. */
  [extra: string]: unknown;
}

export type Action =
  | { protocol: ProtocolAction }
  | { metaData: MetadataAction }
  | { add: AddAction }
  | { remove: RemoveAction }
  | { txn: TxnAction }
  | { commitInfo: CommitInfo };

export const ENGINE_INFO = 'pulse-lake/0.1';

/** Delta's schema JSON (`schemaString`) of a column list. */
export function schemaString(columns: readonly DeltaColumn[]): string {
  return JSON.stringify({
    type: 'struct',
    fields: columns.map((c) => ({
      name: c.name,
      type: c.type === 'map<string,string>' ? { type: 'map', keyType: 'string', valueType: 'string', valueContainsNull: true } : c.type,
      nullable: c.nullable ?? true,
      metadata: {},
    })),
  });
}

/** The column list of a `schemaString`; throws on types outside what Pulse writes. */
export function parseSchemaString(schema: string): DeltaColumn[] {
  const parsed = JSON.parse(schema) as { fields: { name: string; type: unknown; nullable: boolean }[] };
  return parsed.fields.map((f) => {
    let type: DeltaColumnType;
    if (typeof f.type === 'string') type = f.type as DeltaPrimitiveType;
    else if ((f.type as { type: string; keyType: string; valueType: string }).type === 'map') type = 'map<string,string>';
    else throw new Error(`unsupported Delta column type ${JSON.stringify(f.type)} of ${f.name}`);
    return { name: f.name, type, nullable: f.nullable };
  });
}

/** DuckDB type of a Delta column. Timestamps are UTC-adjusted (TIMESTAMPTZ), as Delta's `timestamp` is. */
export function duckdbType(type: DeltaColumnType): string {
  switch (type) {
    case 'string':
      return 'VARCHAR';
    case 'long':
      return 'BIGINT';
    case 'integer':
      return 'INTEGER';
    case 'double':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'timestamp':
      return 'TIMESTAMPTZ';
    case 'date':
      return 'DATE';
    case 'map<string,string>':
      return 'MAP(VARCHAR, VARCHAR)';
  }
}

export function logKey(tablePath: string, version: number): string {
  return `${tablePath}/_delta_log/${String(version).padStart(20, '0')}.json`;
}

export function checkpointKey(tablePath: string, version: number): string {
  return `${tablePath}/_delta_log/${String(version).padStart(20, '0')}.checkpoint.parquet`;
}

export function lastCheckpointKey(tablePath: string): string {
  return `${tablePath}/_delta_log/_last_checkpoint`;
}

export function serializeActions(actions: readonly Action[]): string {
  return actions.map((a) => JSON.stringify(a)).join('\n') + '\n';
}

export function parseActions(text: string): Action[] {
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as Action);
}
