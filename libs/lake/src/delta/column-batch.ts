import {
  BIGINT,
  BOOLEAN,
  DATE,
  DOUBLE,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBMapValue,
  DuckDBTimestampTZValue,
  type DuckDBType,
  type DuckDBValue,
  INTEGER,
  MAP,
  TIMESTAMPTZ,
  VARCHAR,
} from '@duckdb/node-api';
import { sqlIdent } from '../engine/duckdb.engine';
import { type DeltaColumn, type DeltaColumnType, duckdbType } from './actions';

/** A value of a column of a `ColumnBatch`; null for SQL NULL. */
export type ColumnValue = string | number | bigint | boolean | Date | Readonly<Record<string, string>> | null | undefined;

/**
 * Rows gathered column by column for one append: the fast way from JavaScript values into DuckDB
 * (data chunks of 2048 rows through the appender, no text in between). Timestamps are ms since the
 * epoch or Dates, dates are `YYYY-MM-DD` or days since the epoch, maps plain objects.
 */
export class ColumnBatch {
  readonly columns: ColumnValue[][];
  private rows = 0;

  constructor(readonly schema: readonly DeltaColumn[]) {
    this.columns = schema.map(() => []);
  }

  get length(): number {
    return this.rows;
  }

  /** Appends one row, values in schema order. */
  push(values: readonly ColumnValue[]): void {
    for (let i = 0; i < this.columns.length; i++) this.columns[i].push(values[i]);
    this.rows++;
  }

  /** Creates `table` in DuckDB with the batch's schema and loads the rows into it. */
  async load(connection: DuckDBConnection, table: string): Promise<void> {
    const columns = this.schema.map((c) => `${sqlIdent(c.name)} ${duckdbType(c.type)}`);
    await connection.run(`CREATE TABLE ${sqlIdent(table)} (${columns.join(', ')})`);
    const appender = await connection.createAppender(table);
    try {
      const types = this.schema.map((c) => logicalType(c.type));
      const converters = this.schema.map((c) => converter(c.type));
      for (let start = 0; start < this.rows; start += 2048) {
        const end = Math.min(start + 2048, this.rows);
        const chunk = DuckDBDataChunk.create(types, end - start);
        for (let c = 0; c < this.columns.length; c++) {
          const convert = converters[c];
          const values: DuckDBValue[] = new Array(end - start);
          const column = this.columns[c];
          for (let r = start; r < end; r++) {
            const v = column[r];
            values[r - start] = v === null || v === undefined ? null : convert(v);
          }
          chunk.setColumnValues(c, values);
        }
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }
}

function logicalType(type: DeltaColumnType): DuckDBType {
  switch (type) {
    case 'string':
      return VARCHAR;
    case 'long':
      return BIGINT;
    case 'integer':
      return INTEGER;
    case 'double':
      return DOUBLE;
    case 'boolean':
      return BOOLEAN;
    case 'timestamp':
      return TIMESTAMPTZ;
    case 'date':
      return DATE;
    case 'map<string,string>':
      return MAP(VARCHAR, VARCHAR);
  }
}

const DAY_MS = 86_400_000;

function converter(type: DeltaColumnType): (v: Exclude<ColumnValue, null | undefined>) => DuckDBValue {
  switch (type) {
    case 'string':
      return (v) => String(v);
    case 'long':
      return (v) => (typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v))));
    case 'integer':
    case 'double':
      return (v) => Number(v);
    case 'boolean':
      return (v) => Boolean(v);
    case 'timestamp':
      return (v) => {
        const ms = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : Number(v);
        return new DuckDBTimestampTZValue(BigInt(Math.round(ms * 1000)));
      };
    case 'date':
      return (v) => {
        if (typeof v === 'number') return new DuckDBDateValue(v);
        const ms = v instanceof Date ? v.getTime() : Date.parse(`${String(v)}T00:00:00Z`);
        return new DuckDBDateValue(Math.floor(ms / DAY_MS));
      };
    case 'map<string,string>':
      return (v) => new DuckDBMapValue(Object.entries(v as Record<string, string>).map(([key, value]) => ({ key, value })));
  }
}
