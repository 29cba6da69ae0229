import { cdcV1 } from '@pulse/contracts';
import type { CapturedTable, CdcRecord } from '../debezium/change-event.mapper';
import type { ColumnFilter } from '../debezium/column-filter';
import type { TypeRegistry } from '../debezium/pg-types';
import { PgType } from '../debezium/pg-types';
import type { TableInfo } from './cdc-catalog.pg.repository';
import { CdcTopics } from './cdc-topics';

/** What identifies a table's shape on the stream: column names, types and type modifiers, in order. */
export function relationShape(columns: readonly { name: string; typeOid: number; typeMod: number }[]): string {
  return JSON.stringify(columns.map((c) => [c.name, c.typeOid, c.typeMod]));
}

/** Length (or precision) and scale encoded in a type modifier. */
function lengthAndScale(typeOid: number, typeMod: number): { length: number; scale: number } {
  if (typeMod < 0) return { length: 0, scale: 0 };
  switch (typeOid) {
    case PgType.varchar:
    case PgType.bpchar:
      return { length: typeMod - 4, scale: 0 };
    case PgType.numeric:
      return { length: ((typeMod - 4) >> 16) & 0xffff, scale: (typeMod - 4) & 0xffff };
    case PgType.time:
    case PgType.timetz:
    case PgType.timestamp:
    case PgType.timestamptz:
    case PgType.bit:
    case PgType.varbit:
      return { length: typeMod, scale: 0 };
    default:
      return { length: 0, scale: 0 };
  }
}

/**
 * A record for pulse.cdc.schema_changes.v1: the table's columns as the stream now sends them, completed
 * with nullability, defaults and the primary key from the catalog.
 */
export function schemaChangeRecord(
  table: CapturedTable,
  info: TableInfo | undefined,
  changeType: cdcV1.SchemaChangeType,
  context: { database: string; lsn: bigint; timeMicros: bigint; types: TypeRegistry; columns?: ColumnFilter },
): CdcRecord {
  const catalog = new Map(info?.columns.map((c) => [c.name, c]));
  // Excluded columns are not part of the table as the topic shows it (Debezium leaves them out of the schema).
  const actions = context.columns?.actions(
    table.schema,
    table.table,
    table.columns.map((c) => c.name),
    table.keyColumns,
  );
  const value: cdcV1.SchemaChange = {
    database: context.database,
    schema: table.schema,
    table: table.table,
    changeType,
    columns: table.columns.flatMap((column, i) => {
      if (actions?.[i].kind === 'exclude') return [];
      const known = catalog.get(column.name);
      const { length, scale } = lengthAndScale(column.typeOid, column.typeMod);
      return [
        {
          name: column.name,
          typeName: known && known.typeOid === column.typeOid ? known.typeName : context.types.typeName(column.typeOid),
          optional: known ? !known.notNull : true,
          primaryKey: table.keyColumns.includes(column.name),
          position: i + 1,
          length,
          scale,
          defaultValue: known?.defaultValue ?? '',
        },
      ];
    }),
    lsn: Number(context.lsn),
    ts: { seconds: Number(context.timeMicros / 1_000_000n), nanos: Number(context.timeMicros % 1_000_000n) * 1000 },
  };
  return { topic: CdcTopics.schemaChanges, key: `${table.schema}.${table.table}`, value };
}
