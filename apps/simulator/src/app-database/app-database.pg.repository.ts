import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, quoteIdent } from '@pulse/platform';
import type { Pool } from 'pg';
import { SIMULATOR_CONFIG, type SimulatorConfig } from '../config/simulator.config';

/** A post as the feed needs it: id, author and cluster name (`tags[1]`), ids as strings. */
export interface PostRow {
  id: string;
  authorId: string;
  cluster: string | null;
}

/** An attachment in `posts.media`. */
export interface MediaAttachment {
  media_id: string;
  content_type: string;
  size_bytes: number;
}

const POST_COLUMNS = 'id::text AS id, author_id::text AS "authorId", tags[1] AS cluster';

/**
 * What the simulated users do to the app database, the way the app itself would: publish posts, like, comment,
 * follow, unfollow and block (INSERT/UPDATE/DELETE on users, posts, follows, comments, blocks of the app schema, which cdc
 * streams to Kafka), and the reads a client without recommendations falls back to.
 */
@Injectable()
export class AppDatabasePgRepository {
  private readonly schema: string;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(SIMULATOR_CONFIG) config: SimulatorConfig,
  ) {
    this.schema = quoteIdent(config.SIMULATOR_APP_SCHEMA);
  }

  /** Publishes a post; returns its id. */
  async createPost(authorId: string, body: string, tags: readonly string[], media: readonly MediaAttachment[]): Promise<string> {
    const { rows } = await this.pool.query<{ id: string }>(
      `INSERT INTO ${this.schema}.posts (author_id, body, tags, media) VALUES ($1, $2, $3, $4) RETURNING id::text AS id`,
      [authorId, body, tags, JSON.stringify(media)],
    );
    return rows[0].id;
  }

  /** Counts a like on the post; false when there is no such post. */
  async like(postId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE ${this.schema}.posts SET like_count = like_count + 1 WHERE id = $1`, [postId]);
    return (rowCount ?? 0) > 0;
  }

  /** Writes a comment and counts it on the post (one transaction); returns the comment's id. */
  async comment(postId: string, authorId: string, body: string): Promise<string> {
    const { rows } = await this.pool.query<{ id: string }>(
      `WITH c AS (INSERT INTO ${this.schema}.comments (post_id, author_id, body) VALUES ($1, $2, $3) RETURNING id),
            p AS (UPDATE ${this.schema}.posts SET comment_count = comment_count + 1 WHERE id = $1)
       SELECT id::text AS id FROM c`,
      [postId, authorId, body],
    );
    return rows[0].id;
  }

  /**
   * Follows (and counts the follower): 'created', 'existed' when the edge was there already, or 'blocked' when either
   * user blocked the other (the app refuses that follow).
   */
  async follow(followerId: string, followeeId: string): Promise<'created' | 'existed' | 'blocked'> {
    const { rows } = await this.pool.query<{ n: string; blocked: boolean }>(
      `WITH b AS (SELECT 1 FROM ${this.schema}.blocks
                   WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1)),
            f AS (INSERT INTO ${this.schema}.follows (follower_id, followee_id)
                  SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM b) ON CONFLICT DO NOTHING RETURNING followee_id),
            u AS (UPDATE ${this.schema}.users SET follower_count = follower_count + 1, updated_at = now() WHERE id IN (SELECT followee_id FROM f))
       SELECT count(*) AS n, EXISTS (SELECT 1 FROM b) AS blocked FROM f`,
      [followerId, followeeId],
    );
    if (rows[0].blocked) return 'blocked';
    return Number(rows[0].n) > 0 ? 'created' : 'existed';
  }

  /**
   * Blocks: ends the follows between the two users both ways (uncounting them) and records the block, in one
   * statement; false when the block existed already.
   */
  async block(blockerId: string, blockedId: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ n: string }>(
      `WITH f AS (DELETE FROM ${this.schema}.follows
                   WHERE (follower_id = $1 AND followee_id = $2) OR (follower_id = $2 AND followee_id = $1) RETURNING followee_id),
            u AS (UPDATE ${this.schema}.users SET follower_count = greatest(follower_count - 1, 0), updated_at = now()
                  WHERE id IN (SELECT followee_id FROM f)),
            b AS (INSERT INTO ${this.schema}.blocks (blocker_id, blocked_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING blocked_id)
       SELECT count(*) AS n FROM b`,
      [blockerId, blockedId],
    );
    return Number(rows[0].n) > 0;
  }

  /** Unfollows (and uncounts the follower); false when there was no such edge. */
  async unfollow(followerId: string, followeeId: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ n: string }>(
      `WITH f AS (DELETE FROM ${this.schema}.follows WHERE follower_id = $1 AND followee_id = $2 RETURNING followee_id),
            u AS (UPDATE ${this.schema}.users SET follower_count = greatest(follower_count - 1, 0), updated_at = now()
                  WHERE id IN (SELECT followee_id FROM f))
       SELECT count(*) AS n FROM f`,
      [followerId, followeeId],
    );
    return Number(rows[0].n) > 0;
  }

  /** The latest posts of the users someone follows (a few per followee), newest first. */
  async followingFeed(userId: string, limit: number): Promise<PostRow[]> {
    const { rows } = await this.pool.query<PostRow & { created_at: Date }>(
      `SELECT p.* FROM ${this.schema}.follows f
       CROSS JOIN LATERAL (
         SELECT ${POST_COLUMNS}, created_at FROM ${this.schema}.posts
         WHERE author_id = f.followee_id ORDER BY created_at DESC LIMIT 3
       ) p
       WHERE f.follower_id = $1
       ORDER BY p.created_at DESC LIMIT $2`,
      [userId, limit],
    );
    return rows.map(({ id, authorId, cluster }) => ({ id, authorId, cluster }));
  }

  /** The most liked posts of the last `days` days. */
  async popularPosts(limit: number, days: number): Promise<PostRow[]> {
    const { rows } = await this.pool.query<PostRow>(
      `SELECT ${POST_COLUMNS} FROM ${this.schema}.posts
       WHERE created_at > now() - make_interval(days => $2) ORDER BY like_count DESC, id DESC LIMIT $1`,
      [limit, days],
    );
    return rows;
  }

  /** The posts of these ids that exist (ids that are not numbers are skipped). */
  async posts(ids: readonly string[]): Promise<PostRow[]> {
    const numeric = ids.filter((id) => /^\d{1,18}$/.test(id));
    if (numeric.length === 0) return [];
    const { rows } = await this.pool.query<PostRow>(`SELECT ${POST_COLUMNS} FROM ${this.schema}.posts WHERE id = ANY($1::bigint[])`, [
      numeric,
    ]);
    return rows;
  }
}
