import { CASSANDRA } from '@pulse/platform';
import { Inject, Injectable } from '@nestjs/common';
import { type Client, types } from 'cassandra-driver';
import { pagedRows } from '../shared/cassandra-paging';
import { forEachConcurrently } from '../shared/concurrency';
import { dayOf } from '../shared/page-token';

export interface Edge {
  followerId: string;
  followeeId: string;
  followedAt: Date;
}

/** Follower counts one countEdgesOf call has in flight (one request per user). */
const FOLLOWER_COUNTS_IN_FLIGHT = 16;

/** One row of a bulk import: a prepared insert and its values. */
export interface ImportRow {
  query: string;
  params: unknown[];
}

/** The inserts of a bulk import, one per table. */
export const IMPORT_INSERTS = {
  following: 'INSERT INTO following_by_user (user_id, followee_id, followed_at) VALUES (?, ?, ?)',
  follower: 'INSERT INTO followers_by_user (user_id, bucket, followed_at, follower_id) VALUES (?, ?, ?, ?)',
  bucket: 'INSERT INTO follower_buckets_by_user (user_id, bucket) VALUES (?, ?)',
} as const;

export interface EdgePage {
  edges: Edge[];
  /** Driver paging state to continue in the same partition, when there is more. */
  pageState?: string;
}

/**
 * The follow graph. following_by_user (partition = follower) is the source of truth, guarded by
 * lightweight transactions; followers_by_user (partition = followee and day bucket) and the counters are
 * derived from it and brought back in step by `repairEdge`/`repairCounts` when a write failed half-way.
 */
@Injectable()
export class GraphRepository {
  constructor(@Inject(CASSANDRA) private readonly db: Client) {}

  /** Inserts follower → followee unless present; returns the edge as stored and whether it is new. */
  async insertFollowing(edge: Edge): Promise<{ created: boolean; edge: Edge }> {
    const rs = await this.db.execute(
      'INSERT INTO following_by_user (user_id, followee_id, followed_at) VALUES (?, ?, ?) IF NOT EXISTS',
      [edge.followerId, edge.followeeId, edge.followedAt],
      { isIdempotent: false },
    );
    const row = rs.first();
    if (row.get('[applied]') === true) return { created: true, edge };
    return { created: false, edge: { ...edge, followedAt: row.get('followed_at') } };
  }

  /** The follower side and its bucket index, written together (logged batch; idempotent). */
  async writeFollowerSide(edge: Edge): Promise<void> {
    const bucket = dayOf(edge.followedAt.getTime());
    await this.db.batch(
      [
        {
          query: 'INSERT INTO followers_by_user (user_id, bucket, followed_at, follower_id) VALUES (?, ?, ?, ?)',
          params: [edge.followeeId, bucket, edge.followedAt, edge.followerId],
        },
        { query: 'INSERT INTO follower_buckets_by_user (user_id, bucket) VALUES (?, ?)', params: [edge.followeeId, bucket] },
      ],
      { logged: true, isIdempotent: true },
    );
  }

  async deleteFollowerSide(edge: Edge): Promise<void> {
    await this.db.execute(
      'DELETE FROM followers_by_user WHERE user_id = ? AND bucket = ? AND followed_at = ? AND follower_id = ?',
      [edge.followeeId, dayOf(edge.followedAt.getTime()), edge.followedAt, edge.followerId],
      { isIdempotent: true },
    );
  }

  /** Deletes follower → followee only if it is still the edge read before (compare-and-set). */
  async deleteFollowing(edge: Edge): Promise<boolean> {
    const rs = await this.db.execute(
      'DELETE FROM following_by_user WHERE user_id = ? AND followee_id = ? IF followed_at = ?',
      [edge.followerId, edge.followeeId, edge.followedAt],
      { isIdempotent: false },
    );
    return rs.first().get('[applied]') === true;
  }

  async adjustCounts(followerId: string, followeeId: string, delta: 1 | -1): Promise<void> {
    await Promise.all([this.addToCounter(followerId, 'following', delta), this.addToCounter(followeeId, 'followers', delta)]);
  }

  /** Both counters of a user moved in one update (a recount); like addToCounter, never retried by the driver. */
  async moveCounters(userId: string, followers: number, following: number): Promise<void> {
    await this.db.execute(
      'UPDATE follow_counts SET followers = followers + ?, following = following + ? WHERE user_id = ?',
      [types.Long.fromNumber(followers), types.Long.fromNumber(following), userId],
      { prepare: true, isIdempotent: false },
    );
  }

  /** Counter updates are not idempotent: never retried by the driver; a lost one is fixed by a recount. */
  async addToCounter(userId: string, column: 'followers' | 'following', delta: number): Promise<void> {
    await this.db.execute(`UPDATE follow_counts SET ${column} = ${column} + ? WHERE user_id = ?`, [delta, userId], { isIdempotent: false });
  }

  /** One partition read: does `followerId` follow `followeeId`, and since when. */
  async following(followerId: string, followeeId: string, serial = false): Promise<Edge | undefined> {
    const rs = await this.db.execute(
      'SELECT followed_at FROM following_by_user WHERE user_id = ? AND followee_id = ?',
      [followerId, followeeId],
      serial ? { isIdempotent: true, consistency: types.consistencies.localSerial } : { isIdempotent: true },
    );
    const row = rs.first();
    return row ? { followerId, followeeId, followedAt: row.get('followed_at') } : undefined;
  }

  async counts(userId: string): Promise<{ followers: number; following: number }> {
    const row = (
      await this.db.execute('SELECT followers, following FROM follow_counts WHERE user_id = ?', [userId], { isIdempotent: true })
    ).first();
    return { followers: Number(row?.get('followers') ?? 0), following: Number(row?.get('following') ?? 0) };
  }

  async followingPage(userId: string, fetchSize: number, pageState?: string): Promise<EdgePage> {
    const rs = await this.db.execute('SELECT followee_id, followed_at FROM following_by_user WHERE user_id = ?', [userId], {
      isIdempotent: true,
      fetchSize,
      pageState,
    });
    return {
      edges: rs.rows.map((r) => ({ followerId: userId, followeeId: r.get('followee_id'), followedAt: r.get('followed_at') })),
      pageState: rs.pageState ?? undefined,
    };
  }

  /** Buckets holding the user's followers, newest first, strictly older than `before` when given. */
  async followerBuckets(userId: string, limit: number, before?: number): Promise<number[]> {
    const rs =
      before === undefined
        ? await this.db.execute('SELECT bucket FROM follower_buckets_by_user WHERE user_id = ? LIMIT ?', [userId, limit], {
            isIdempotent: true,
          })
        : await this.db.execute(
            'SELECT bucket FROM follower_buckets_by_user WHERE user_id = ? AND bucket < ? LIMIT ?',
            [userId, before, limit],
            {
              isIdempotent: true,
            },
          );
    return rs.rows.map((r) => r.get('bucket'));
  }

  async followersPage(userId: string, bucket: number, fetchSize: number, pageState?: string): Promise<EdgePage> {
    const rs = await this.db.execute(
      'SELECT follower_id, followed_at FROM followers_by_user WHERE user_id = ? AND bucket = ?',
      [userId, bucket],
      { isIdempotent: true, fetchSize, pageState },
    );
    return {
      edges: rs.rows.map((r) => ({ followerId: r.get('follower_id'), followeeId: userId, followedAt: r.get('followed_at') })),
      pageState: rs.pageState ?? undefined,
    };
  }

  /** Whether the follower side of an edge is there (its row in followers_by_user). */
  async hasFollowerSide(edge: Edge): Promise<boolean> {
    const rs = await this.db.execute(
      'SELECT follower_id FROM followers_by_user WHERE user_id = ? AND bucket = ? AND followed_at = ? AND follower_id = ?',
      [edge.followeeId, dayOf(edge.followedAt.getTime()), edge.followedAt, edge.followerId],
      { isIdempotent: true },
    );
    return rs.rowLength > 0;
  }

  /** Every edge of following_by_user, a page at a time: a full scan of the table, for reconciliation only. */
  async *scanFollowing(fetchSize = 2000): AsyncGenerator<Edge[]> {
    yield* pagedRows(this.db, 'SELECT user_id, followee_id, followed_at FROM following_by_user', fetchSize, (r) => ({
      followerId: r.get('user_id'),
      followeeId: r.get('followee_id'),
      followedAt: r.get('followed_at'),
    }));
  }

  /** The edges of following_by_user whose follower's token lies in (from, to], a page at a time (a parallel scan). */
  async *scanFollowingRange(
    range: [types.Long, types.Long],
    fetchSize = 5000,
  ): AsyncGenerator<{ followerId: string; followeeId: string }[]> {
    yield* pagedRows(
      this.db,
      'SELECT user_id, followee_id FROM following_by_user WHERE token(user_id) > ? AND token(user_id) <= ?',
      fetchSize,
      (r) => ({ followerId: r.get('user_id'), followeeId: r.get('followee_id') }),
      range,
    );
  }

  /** Every row of followers_by_user as the edge it stands for, a page at a time (reconciliation only). */
  async *scanFollowerSides(fetchSize = 2000): AsyncGenerator<Edge[]> {
    yield* pagedRows(this.db, 'SELECT user_id, follower_id, followed_at FROM followers_by_user', fetchSize, (r) => ({
      followerId: r.get('follower_id'),
      followeeId: r.get('user_id'),
      followedAt: r.get('followed_at'),
    }));
  }

  /** Every row of follow_counts, a page at a time (reconciliation only). */
  async *scanCounts(fetchSize = 2000): AsyncGenerator<{ userId: string; followers: number; following: number }[]> {
    yield* pagedRows(this.db, 'SELECT user_id, followers, following FROM follow_counts', fetchSize, (r) => ({
      userId: r.get('user_id'),
      followers: Number(r.get('followers') ?? 0),
      following: Number(r.get('following') ?? 0),
    }));
  }

  /** Counts a user's rows on both sides (a repair-time scan over bounded partitions, not a request path). */
  async countEdges(userId: string): Promise<{ followers: number; following: number }> {
    const countFollowers = async () => {
      let followers = 0;
      for (const bucket of await this.followerBuckets(userId, 100_000)) {
        followers += await this.countRows('SELECT follower_id FROM followers_by_user WHERE user_id = ? AND bucket = ?', [userId, bucket]);
      }
      return followers;
    };
    const [following, followers] = await Promise.all([
      this.countRows('SELECT followee_id FROM following_by_user WHERE user_id = ?', [userId]),
      countFollowers(),
    ]);
    return { followers, following };
  }

  /**
   * Row counts of both directions for many users in few requests (a bulk recount): following as one GROUP BY over an
   * IN of the users, their follower buckets as one IN, then one COUNT per user over its buckets (an IN of them).
   */
  async countEdgesOf(userIds: readonly string[]): Promise<Map<string, { followers: number; following: number }>> {
    const result = new Map(userIds.map((id) => [id, { followers: 0, following: 0 }]));
    const ids = [...userIds];
    const [following, buckets] = await Promise.all([
      this.allRows('SELECT user_id, COUNT(*) AS n FROM following_by_user WHERE user_id IN ? GROUP BY user_id', [ids]),
      this.allRows('SELECT user_id, bucket FROM follower_buckets_by_user WHERE user_id IN ?', [ids]),
    ]);
    for (const row of following) {
      const counts = result.get(row.get('user_id'));
      if (counts) counts.following = Number(row.get('n'));
    }
    const bucketsOf = new Map<string, number[]>();
    for (const row of buckets) {
      const list = bucketsOf.get(row.get('user_id'));
      if (list) list.push(row.get('bucket'));
      else bucketsOf.set(row.get('user_id'), [row.get('bucket')]);
    }
    await forEachConcurrently([...bucketsOf], FOLLOWER_COUNTS_IN_FLIGHT, async ([userId, days]) => {
      const rs = await this.db.execute('SELECT COUNT(*) AS n FROM followers_by_user WHERE user_id = ? AND bucket IN ?', [userId, days], {
        prepare: true,
        isIdempotent: true,
      });
      const counts = result.get(userId);
      if (counts) counts.followers = Number(rs.first()?.get('n') ?? 0);
    });
    return result;
  }

  /** The counters of many users (one IN); a user without a row has zeros. */
  async countsOf(userIds: readonly string[]): Promise<Map<string, { followers: number; following: number }>> {
    const result = new Map(userIds.map((id) => [id, { followers: 0, following: 0 }]));
    for (const row of await this.allRows('SELECT user_id, followers, following FROM follow_counts WHERE user_id IN ?', [[...userIds]])) {
      result.set(row.get('user_id'), { followers: Number(row.get('followers') ?? 0), following: Number(row.get('following') ?? 0) });
    }
    return result;
  }

  /** Every row of a query with parameters (the pages of pagedRows, gathered). */
  private async allRows(query: string, params: unknown[]): Promise<types.Row[]> {
    const rows: types.Row[] = [];
    for await (const page of pagedRows(this.db, query, 5000, (row) => row, params)) rows.push(...page);
    return rows;
  }

  /**
   * Bulk import: rows of one partition written as one unlogged batch (one mutation on its replicas, routed there by
   * the token of the first statement), or a single insert for a partition of one row. No read, no LWT: the rows
   * are upserts, so writing them again changes nothing.
   */
  async writeImportRows(rows: ImportRow[]): Promise<void> {
    if (rows.length === 1) {
      await this.db.execute(rows[0].query, rows[0].params, { prepare: true, isIdempotent: true });
      return;
    }
    await this.db.batch(rows, { prepare: true, logged: false, isIdempotent: true });
  }

  private async countRows(query: string, params: unknown[]): Promise<number> {
    let count = 0;
    let pageState: string | undefined;
    do {
      const rs = await this.db.execute(query, params, { isIdempotent: true, fetchSize: 5000, pageState });
      count += rs.rowLength;
      pageState = rs.pageState ?? undefined;
    } while (pageState);
    return count;
  }
}
