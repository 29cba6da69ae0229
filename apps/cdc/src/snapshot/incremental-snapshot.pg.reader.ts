import { qualifiedName, quoteIdent } from '@pulse/platform';
import { Client, type QueryArrayConfig } from 'pg';
import type { TableInfo } from '../capture/cdc-catalog.pg.repository';
import { sessionOptions } from '../debezium/value-converter';
import type { TextRow } from './initial-snapshot.pg.reader';
import { renderCondition } from './snapshot-condition';

/** Primary key values in text form, in primary key order. */
export type KeyValues = string[];

/**
 * Reads incremental snapshot chunks: each chunk is one autocommit (READ COMMITTED) statement, so its
 * snapshot is taken after the chunk's low watermark committed. Rows are ordered by primary key and come
 * back in text form, columns in `TableInfo.columns` order.
 */
export class ChunkReader {
  private client?: Client;

  constructor(
    private readonly pgUrl: string,
    private readonly applicationName: string,
  ) {}

  /** The greatest primary key of the rows matching `condition` at this moment; undefined when there is none. */
  async maxKey(table: TableInfo, condition: string): Promise<KeyValues | undefined> {
    const key = table.primaryKey.map(quoteIdent);
    const params: string[] = [];
    const where = condition ? ` WHERE (${this.condition(table, condition, params)})` : '';
    const { rows } = await this.query(
      // Aliased: ORDER BY must see the columns, not text outputs of the same name.
      `SELECT ${key.map((k, i) => `${k}::text AS k${i}`).join(', ')} FROM ${qualifiedName(table.schema, table.table)}` +
        `${where} ORDER BY ${key.map((k) => `${k} DESC`).join(', ')} LIMIT 1`,
      params,
    );
    return rows[0] ? rows[0].map((v) => v ?? '') : undefined;
  }

  /** Up to `limit` rows with a key above `after` (from the start when null) and at most `upTo`, by key. */
  async chunk(table: TableInfo, after: KeyValues | null, upTo: KeyValues, limit: number, condition: string): Promise<TextRow[]> {
    const columns = table.columns.map((c) => quoteIdent(c.name)).join(', ');
    const key = table.primaryKey.map(quoteIdent);
    const types = table.primaryKey.map((name) => table.columns.find((c) => c.name === name)?.typeName ?? 'text');
    const params: string[] = [];
    const tuple = (values: KeyValues) => `(${values.map((v, i) => `$${params.push(v)}::${types[i]}`).join(', ')})`;
    const where = [`(${key.join(', ')}) <= ${tuple(upTo)}`];
    if (after) where.push(`(${key.join(', ')}) > ${tuple(after)}`);
    if (condition) where.push(`(${this.condition(table, condition, params)})`);
    const { rows } = await this.query(
      `SELECT ${columns} FROM ${qualifiedName(table.schema, table.table)} WHERE ${where.join(' AND ')} ORDER BY ${key.join(', ')} LIMIT ${limit}`,
      params,
    );
    return rows;
  }

  /** An additional condition as SQL (see renderCondition): columns of the table, string literals as parameters. */
  private condition(table: TableInfo, condition: string, params: string[]): string {
    return renderCondition(
      condition,
      table.columns.map((c) => c.name),
      params,
    );
  }

  /** Rows of the table according to its statistics; 0 when unknown. */
  async estimate(table: TableInfo): Promise<number> {
    const { rows } = await this.query(`SELECT greatest(reltuples, 0)::int8::text FROM pg_class WHERE oid = $1`, [
      String(table.relationOid),
    ]);
    return Number(rows[0]?.[0] ?? 0);
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async query(text: string, values: string[]): Promise<{ rows: TextRow[] }> {
    if (!this.client) {
      const client = new Client({
        connectionString: this.pgUrl,
        application_name: this.applicationName,
        options: sessionOptions(),
        types: { getTypeParser: () => (value: string) => value },
      } as ConstructorParameters<typeof Client>[0]);
      client.on('error', () => undefined);
      await client.connect();
      this.client = client;
    }
    try {
      // Extended protocol: one statement only.
      return await this.client.query<TextRow>({ text, values, rowMode: 'array', queryMode: 'extended' } as QueryArrayConfig);
    } catch (error) {
      // A broken connection is replaced on the next query; an SQL error leaves it usable, but renewing is harmless.
      await this.close();
      throw error;
    }
  }
}
