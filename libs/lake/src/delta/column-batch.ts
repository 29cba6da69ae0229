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

  /**
   * Stages the rows in DuckDB and returns a query that reads them in the batch's schema; `stagedTables(name)` are
   * the tables to drop afterwards. Each column goes to DuckDB as one text per 16,384 rows, its values joined by NUL,
   * and the query has DuckDB split, unnest and cast them (maps as JSON): a handful of calls into DuckDB per column
   * instead of one per string value, no value objects per row, and the rows are materialized once, by whoever reads
   * the query (a `COPY` to Parquet). A batch where a text value holds NUL (or is the null mark, U+0001, alone) is
   * loaded into a table value by value instead (decision 0027).
   */
  async stage(connection: DuckDBConnection, name: string): Promise<string> {
    const texts = this.rows === 0 ? null : this.columnTexts();
    if (!texts) {
      await this.createTable(connection, name);
      await this.loadValues(connection, name);
      return `SELECT * FROM ${sqlIdent(name)}`;
    }
    const staging = `${name}__text`;
    await connection.run(`CREATE TABLE ${sqlIdent(staging)} (${texts.map((_, c) => `c${c} VARCHAR`).join(', ')})`);
    const appender = await connection.createAppender(staging);
    try {
      const types = texts.map(() => VARCHAR);
      for (let start = 0; start < texts[0].length; start += 2048) {
        const end = Math.min(start + 2048, texts[0].length);
        const chunk = DuckDBDataChunk.create(types, end - start);
        for (let c = 0; c < texts.length; c++) chunk.setColumnValues(c, texts[c].slice(start, end));
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    const split = texts.map((_, c) => `unnest(string_split(c${c}, chr(0))) AS c${c}`);
    const typed = this.schema.map((column, c) => `${textToSql(column.type, `c${c}`)} AS ${sqlIdent(column.name)}`);
    return `SELECT ${typed.join(', ')} FROM (SELECT ${split.join(', ')} FROM ${sqlIdent(staging)})`;
  }

  /** The tables `stage(connection, name)` may create. */
  static stagedTables(name: string): string[] {
    return [name, `${name}__text`];
  }

  /** Creates `table` in DuckDB with the batch's schema and loads the rows into it, through `stage`. */
  async load(connection: DuckDBConnection, table: string): Promise<void> {
    await this.createTable(connection, table);
    if (this.rows === 0) return;
    try {
      await connection.run(`INSERT INTO ${sqlIdent(table)} ${await this.stage(connection, `${table}__staged`)}`);
    } finally {
      for (const t of ColumnBatch.stagedTables(`${table}__staged`)) await connection.run(`DROP TABLE IF EXISTS ${sqlIdent(t)}`);
    }
  }

  private async createTable(connection: DuckDBConnection, table: string): Promise<void> {
    const columns = this.schema.map((c) => `${sqlIdent(c.name)} ${duckdbType(c.type)}`);
    await connection.run(`CREATE TABLE ${sqlIdent(table)} (${columns.join(', ')})`);
  }

  /** Per column, per slice of TEXT_ROWS rows: its values as one text; null when a value cannot be written so. */
  private columnTexts(): string[][] | null {
    const out: string[][] = [];
    for (let c = 0; c < this.columns.length; c++) {
      const format = textFormat(this.schema[c].type);
      const column = this.columns[c];
      const slices: string[] = [];
      for (let start = 0; start < this.rows; start += TEXT_ROWS) {
        const end = Math.min(start + TEXT_ROWS, this.rows);
        const parts: string[] = new Array(end - start);
        for (let r = start; r < end; r++) {
          const v = column[r];
          const text = v === null || v === undefined ? NULL_MARK : format(v);
          if (text === null) return null;
          parts[r - start] = text;
        }
        slices.push(parts.join(SEPARATOR));
      }
      out.push(slices);
    }
    return out;
  }

  private async loadValues(connection: DuckDBConnection, table: string): Promise<void> {
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

/** Rows per text of a column (one row of the staging table). */
const TEXT_ROWS = 16_384;
const SEPARATOR = '\u0000';
/** A null value in a column's text; a text value that is exactly this cannot be written as text. */
const NULL_MARK = '\u0001';

/** A value as it is written in its column's text; null when it cannot be (a text holding the separator or the mark). */
function textFormat(type: DeltaColumnType): (v: Exclude<ColumnValue, null | undefined>) => string | null {
  switch (type) {
    case 'string':
      return (v) => plainText(String(v));
    case 'long':
      return (v) => (typeof v === 'bigint' ? v.toString() : String(Math.trunc(Number(v))));
    case 'integer':
      return (v) => String(Math.trunc(Number(v)));
    case 'double':
      return (v) => String(Number(v));
    case 'boolean':
      return (v) => (v ? 'true' : 'false');
    case 'timestamp':
      return (v) => String(Math.round(timestampMs(v) * 1000));
    case 'date':
      return (v) => (typeof v === 'number' ? utcDate(v * DAY_MS) : v instanceof Date ? utcDate(v.getTime()) : plainText(String(v)));
    case 'map<string,string>':
      return (v) => JSON.stringify(v); // JSON escapes control characters: never holds the separator
  }
}

function plainText(text: string): string | null {
  return text.indexOf(SEPARATOR) !== -1 || text === NULL_MARK ? null : text;
}

/** SQL turning the text column `column` back into a value of the type (NULL_MARK → NULL). */
function textToSql(type: DeltaColumnType, column: string): string {
  const text = `NULLIF(${column}, chr(1))`;
  switch (type) {
    case 'string':
      return text;
    case 'timestamp':
      return `make_timestamptz(CAST(${text} AS BIGINT))`;
    case 'map<string,string>':
      return `CAST(CAST(${text} AS JSON) AS MAP(VARCHAR, VARCHAR))`;
    default:
      return `CAST(${text} AS ${duckdbType(type)})`;
  }
}

function timestampMs(v: Exclude<ColumnValue, null | undefined>): number {
  return v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : Number(v);
}

const dates = new Map<number, string>();

/** `YYYY-MM-DD` (UTC) of a time in ms: the partition value of date-partitioned tables (one Date per day, cached). */
export function utcDate(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  let date = dates.get(day);
  if (date === undefined) {
    date = new Date(day * DAY_MS).toISOString().slice(0, 10);
    if (dates.size > 10_000) dates.clear();
    dates.set(day, date);
  }
  return date;
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
      return (v) => new DuckDBTimestampTZValue(BigInt(Math.round(timestampMs(v) * 1000)));
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
