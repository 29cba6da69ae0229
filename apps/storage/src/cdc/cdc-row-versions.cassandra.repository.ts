import { CASSANDRA } from '@pulse/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { Client } from 'cassandra-driver';
import { pagedRows } from '../shared/cassandra-paging';

/**
 * Last-writer-by-LSN for rows that come from the app database. `admit` records the change's LSN when it
 * is at least the stored one (lightweight transaction, so concurrent appliers agree) and says whether
 * to apply it. An equal LSN is admitted again: a change re-delivered after a crash between this record
 * and the domain write is applied again (the domain writes are idempotent), never lost.
 */
@Injectable()
export class CdcRowVersionsRepository {
  constructor(@Inject(CASSANDRA) private readonly db: Client) {}

  /**
   * Records which users a row names (cdc_rows_by_user), before its version is admitted: the erasure of a user
   * finds the row versions naming them from there. Idempotent.
   */
  async indexUsers(sourceTable: string, rowKey: string, userIds: readonly string[]): Promise<void> {
    for (const userId of userIds) {
      await this.db.execute(
        'INSERT INTO cdc_rows_by_user (user_id, source_table, row_key) VALUES (?, ?, ?)',
        [userId, sourceTable, rowKey],
        {
          isIdempotent: true,
        },
      );
    }
  }

  async admit(sourceTable: string, rowKey: string, lsn: number, deleted: boolean): Promise<boolean> {
    const inserted = await this.db.execute(
      'INSERT INTO cdc_row_versions (source_table, row_key, lsn, deleted) VALUES (?, ?, ?, ?) IF NOT EXISTS',
      [sourceTable, rowKey, lsn, deleted],
      { isIdempotent: false, hints: ['text', 'text', 'bigint', 'boolean'] },
    );
    if (inserted.first().get('[applied]') === true) return true;
    const updated = await this.db.execute(
      'UPDATE cdc_row_versions SET lsn = ?, deleted = ? WHERE source_table = ? AND row_key = ? IF lsn <= ?',
      [lsn, deleted, sourceTable, rowKey, lsn],
      { isIdempotent: false, hints: ['bigint', 'boolean', 'text', 'text', 'bigint'] },
    );
    return updated.first().get('[applied]') === true;
  }

  /** The recorded version of a row, if any. */
  async get(sourceTable: string, rowKey: string): Promise<RowVersion | undefined> {
    const row = (
      await this.db.execute('SELECT lsn, deleted FROM cdc_row_versions WHERE source_table = ? AND row_key = ?', [sourceTable, rowKey], {
        isIdempotent: true,
      })
    ).first();
    return row ? { sourceTable, rowKey, lsn: Number(row.get('lsn')), deleted: row.get('deleted') === true } : undefined;
  }

  /** Every recorded version of one source table, a page at a time: a full scan of the table (reconciliation only). */
  async *scan(sourceTable: string, fetchSize = 2000): AsyncGenerator<RowVersion[]> {
    const all = pagedRows(this.db, 'SELECT source_table, row_key, lsn, deleted FROM cdc_row_versions', fetchSize, (r) => ({
      sourceTable: String(r.get('source_table')),
      rowKey: String(r.get('row_key')),
      lsn: Number(r.get('lsn')),
      deleted: r.get('deleted') === true,
    }));
    for await (const page of all) yield page.filter((v) => v.sourceTable === sourceTable);
  }
}

/** The newest change of an app-database row that storage applied. */
export interface RowVersion {
  sourceTable: string;
  rowKey: string;
  lsn: number;
  deleted: boolean;
}
