import { qualifiedName, quoteIdent, quoteLiteral } from '@pulse/platform';
import { Client } from 'pg';
import { sessionOptions } from '../debezium/value-converter';
import type { TableInfo } from '../capture/cdc-catalog.pg.repository';

/** Rows of one table in text form (null for SQL NULL), columns in `TableInfo.columns` order. */
export type TextRow = (string | null)[];

/**
 * Reads tables as of an exported snapshot: one REPEATABLE READ transaction that imports the snapshot of
 * the replication slot's creation (SET TRANSACTION SNAPSHOT), so it sees exactly the transactions
 * committed before the slot's consistent point. Rows come through a cursor, `fetchSize` at a time, as text.
 */
export class InitialSnapshotReader {
  private readonly client: Client;

  constructor(pgUrl: string, applicationName: string) {
    this.client = new Client({
      connectionString: pgUrl,
      application_name: applicationName,
      options: sessionOptions(),
      // Every value stays in its text form; the converter shared with the stream makes it Debezium JSON.
      types: { getTypeParser: () => (value: string) => value },
    } as ConstructorParameters<typeof Client>[0]);
    this.client.on('error', () => undefined);
  }

  /** Opens the snapshot transaction; returns the snapshot's xmin (used as the events' txId). */
  async begin(snapshotName: string): Promise<number> {
    await this.client.connect();
    await this.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await this.client.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshotName)}`);
    const { rows } = await this.client.query<{ xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin');
    return Number(rows[0].xmin);
  }

  /** Streams a table's rows to `onRows`, awaiting it before fetching more. */
  async readTable(table: TableInfo, fetchSize: number, onRows: (rows: TextRow[]) => Promise<void>): Promise<void> {
    const cursor = quoteIdent(`pulse_cdc_snapshot_${table.relationOid}`);
    const columns = table.columns.map((c) => quoteIdent(c.name)).join(', ');
    await this.client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT ${columns} FROM ${qualifiedName(table.schema, table.table)}`);
    for (;;) {
      const result = await this.client.query<TextRow>({ text: `FETCH FORWARD ${fetchSize} FROM ${cursor}`, rowMode: 'array' });
      if (result.rows.length > 0) await onRows(result.rows);
      if (result.rows.length < fetchSize) break;
    }
    await this.client.query(`CLOSE ${cursor}`);
  }

  async close(): Promise<void> {
    await this.client.query('COMMIT').catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}
