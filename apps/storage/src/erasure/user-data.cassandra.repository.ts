import { Inject, Injectable } from '@nestjs/common';
import { CASSANDRA } from '@pulse/platform';
import type { Client } from 'cassandra-driver';

/**
 * The statements of a user's erasure that no other slice has: whole partitions of the user (activity, follower
 * buckets, counters) and the row versions of the app-database rows that name the user.
 */
@Injectable()
export class UserDataRepository {
  constructor(@Inject(CASSANDRA) private readonly db: Client) {}

  /** Days listed in activity_days_by_user. */
  async activityDays(userId: string): Promise<number[]> {
    const rs = await this.db.execute('SELECT day FROM activity_days_by_user WHERE user_id = ?', [userId], {
      isIdempotent: true,
      fetchSize: 1000,
    });
    return rs.rows.map((r) => r.get('day'));
  }

  /** Rows of one (user, day) partition of activity_by_user. */
  async countActivity(userId: string, day: number): Promise<number> {
    const rs = await this.db.execute('SELECT count(*) AS n FROM activity_by_user WHERE user_id = ? AND day = ?', [userId, day], {
      isIdempotent: true,
    });
    return Number(rs.first().get('n'));
  }

  async deleteActivityDay(userId: string, day: number): Promise<void> {
    await this.db.execute('DELETE FROM activity_by_user WHERE user_id = ? AND day = ?', [userId, day], { isIdempotent: true });
  }

  async deleteActivityDays(userId: string): Promise<void> {
    await this.db.execute('DELETE FROM activity_days_by_user WHERE user_id = ?', [userId], { isIdempotent: true });
  }

  /** Whatever is left of the user's own graph partitions once every edge is gone (emptied buckets, counters). */
  async deleteGraphPartitions(userId: string, buckets: readonly number[]): Promise<number> {
    let rows = 0;
    const following = await this.db.execute('SELECT count(*) AS n FROM following_by_user WHERE user_id = ?', [userId], {
      isIdempotent: true,
    });
    rows += Number(following.first().get('n'));
    await this.db.execute('DELETE FROM following_by_user WHERE user_id = ?', [userId], { isIdempotent: true });
    for (const bucket of buckets) {
      await this.db.execute('DELETE FROM followers_by_user WHERE user_id = ? AND bucket = ?', [userId, bucket], { isIdempotent: true });
    }
    const counts = await this.db.execute('SELECT user_id FROM follow_counts WHERE user_id = ?', [userId], { isIdempotent: true });
    rows += counts.rowLength;
    await this.db.execute('DELETE FROM follow_counts WHERE user_id = ?', [userId], { isIdempotent: true });
    const listed = await this.db.execute('SELECT bucket FROM follower_buckets_by_user WHERE user_id = ?', [userId], { isIdempotent: true });
    rows += listed.rowLength;
    await this.db.execute('DELETE FROM follower_buckets_by_user WHERE user_id = ?', [userId], { isIdempotent: true });
    return rows;
  }

  /**
   * The row versions that name the user: those of cdc_rows_by_user and the `known` ones (source table, row key),
   * which rows recorded before that index existed need; deleted with the index.
   */
  async deleteCdcRows(userId: string, known: readonly [string, string][]): Promise<number> {
    const rs = await this.db.execute('SELECT source_table, row_key FROM cdc_rows_by_user WHERE user_id = ?', [userId], {
      isIdempotent: true,
      fetchSize: 5000,
    });
    const keys = new Map(known.map(([table, key]) => [`${table}\u0000${key}`, [table, key] as const]));
    for await (const row of rs) {
      keys.set(`${row.get('source_table')}\u0000${row.get('row_key')}`, [row.get('source_table'), row.get('row_key')]);
    }
    let deleted = 0;
    for (const [table, key] of keys.values()) {
      const existing = await this.db.execute('SELECT lsn FROM cdc_row_versions WHERE source_table = ? AND row_key = ?', [table, key], {
        isIdempotent: true,
      });
      // The row is indexed under every user it names (both ends of a follows row): those entries go too.
      for (const named of key.split(':')) {
        await this.db.execute('DELETE FROM cdc_rows_by_user WHERE user_id = ? AND source_table = ? AND row_key = ?', [named, table, key], {
          isIdempotent: true,
        });
      }
      if (existing.rowLength === 0) continue;
      await this.db.execute('DELETE FROM cdc_row_versions WHERE source_table = ? AND row_key = ?', [table, key], { isIdempotent: true });
      deleted++;
    }
    await this.db.execute('DELETE FROM cdc_rows_by_user WHERE user_id = ?', [userId], { isIdempotent: true });
    return deleted;
  }
}
