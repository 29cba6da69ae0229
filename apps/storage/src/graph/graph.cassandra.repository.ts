import { CASSANDRA } from '@pulse/platform';
import { Inject, Injectable } from '@nestjs/common';
import { type Client, types } from 'cassandra-driver';
import { pagedRows } from '../shared/cassandra-paging';
import { dayOf } from '../shared/page-token';

export interface Edge {
  followerId: string;
  followeeId: string;
  followedAt: Date;
}

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
    const following = await this.countRows('SELECT followee_id FROM following_by_user WHERE user_id = ?', [userId]);
    let followers = 0;
    for (const bucket of await this.followerBuckets(userId, 100_000)) {
      followers += await this.countRows('SELECT follower_id FROM followers_by_user WHERE user_id = ? AND bucket = ?', [userId, bucket]);
    }
    return { followers, following };
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
