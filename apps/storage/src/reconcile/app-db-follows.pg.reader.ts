import { qualifiedName } from '@pulse/platform';
import { Client } from 'pg';

/** One row of the app database's follows table, ids as storage writes them. */
export interface AppDbEdge {
  followerId: string;
  followeeId: string;
  createdAt: Date;
}

const PAGE = 5000;

/** `X/Y` of pg_lsn as the number the CDC changes carry (changeOrder). */
export function lsnNumber(lsn: string): number {
  const [hi, lo] = lsn.split('/');
  return parseInt(hi, 16) * 2 ** 32 + parseInt(lo, 16);
}

/**
 * The app database's follows table as of one snapshot (a REPEATABLE READ, READ ONLY transaction on a session of its
 * own), read a page at a time in key order, with the WAL position the snapshot was taken at; and point checks of
 * the table as it is now, on a second session. For the graph reconciliation only.
 */
export class AppDbFollowsReader {
  private readonly table: string;
  private snapshot?: Client;
  private current?: Client;
  /** The WAL position when the snapshot was taken: changes of rows the snapshot shows are below it. */
  lsn = 0;

  constructor(
    private readonly url: string,
    schema: string,
  ) {
    this.table = qualifiedName(schema, 'follows');
  }

  async open(): Promise<void> {
    this.snapshot = new Client({ connectionString: this.url, application_name: 'storage-reconcile' });
    this.current = new Client({ connectionString: this.url, application_name: 'storage-reconcile' });
    await Promise.all([this.snapshot.connect(), this.current.connect()]);
    await this.snapshot.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await this.snapshot.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    this.lsn = lsnNumber(rows[0].lsn);
  }

  /** Every edge of the snapshot, a page at a time, ordered by (follower_id, followee_id). */
  async *edges(): AsyncGenerator<AppDbEdge[]> {
    const db = this.session(this.snapshot);
    let after: [string, string] | undefined;
    for (;;) {
      const { rows } = await db.query<{ follower_id: string; followee_id: string; created_at: Date }>(
        `SELECT follower_id::text, followee_id::text, created_at FROM ${this.table}
         ${after ? 'WHERE (follower_id, followee_id) > ($1::bigint, $2::bigint)' : ''}
         ORDER BY follower_id, followee_id LIMIT ${PAGE}`,
        after ?? [],
      );
      if (rows.length === 0) return;
      yield rows.map((r) => ({ followerId: r.follower_id, followeeId: r.followee_id, createdAt: r.created_at }));
      const last = rows[rows.length - 1];
      after = [last.follower_id, last.followee_id];
      if (rows.length < PAGE) return;
    }
  }

  /** Whether the table has the edge now (outside the snapshot). */
  async exists(followerId: string, followeeId: string): Promise<boolean> {
    if (!/^\d{1,19}$/.test(followerId) || !/^\d{1,19}$/.test(followeeId)) return false;
    const { rowCount } = await this.session(this.current).query(
      `SELECT 1 FROM ${this.table} WHERE follower_id = $1::bigint AND followee_id = $2::bigint`,
      [followerId, followeeId],
    );
    return (rowCount ?? 0) > 0;
  }

  async close(): Promise<void> {
    await this.snapshot?.query('ROLLBACK').catch(() => undefined);
    await Promise.all([this.snapshot?.end(), this.current?.end()].map((p) => p?.catch(() => undefined)));
  }

  private session(client: Client | undefined): Client {
    if (!client) throw new Error('the app database reader is not open');
    return client;
  }
}
