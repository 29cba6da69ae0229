import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, quoteIdent } from '@pulse/platform';
import type { Pool, PoolClient } from 'pg';
import { SIMULATOR_CONFIG, type SimulatorConfig } from '../config/simulator.config';
import { clusterIndex, TOPIC_CLUSTERS } from './topic-clusters';
import { type Agent, PostCatalog, World } from './world';
import type { SeedWorld, WorldSize } from './world.generator';

/** The world of this start, and whether this start seeded it. */
export interface OpenedWorld {
  world: World;
  /** The seed recorded with the world (a different configured seed does not change a seeded world). */
  seed: number;
  /** Starts on this world, this one included. */
  run: number;
  seeded: boolean;
}

/** The app tables the simulated users write (apps/cdc/migrations). */
export const APP_TABLES = ['users', 'posts', 'follows', 'comments', 'blocks'] as const;

/**
 * The world in PostgreSQL: its users, follows, posts and comments as rows of the app schema, and in the
 * simulator's own schema the seed marker (`worlds`) and each user's hidden taste and activity (`agents`). Seeding
 * and marking happen in one transaction under an advisory lock, so a world is seeded once however many replicas
 * start; every later start loads it back.
 */
@Injectable()
export class WorldPgRepository {
  private readonly app: string;
  private readonly own: string;
  private readonly appSchema: string;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(SIMULATOR_CONFIG) config: SimulatorConfig,
  ) {
    this.appSchema = config.SIMULATOR_APP_SCHEMA;
    this.app = quoteIdent(config.SIMULATOR_APP_SCHEMA);
    this.own = quoteIdent(config.SIMULATOR_PG_SCHEMA);
  }

  /** App tables missing from the app schema (the cdc migrations create them). */
  async missingAppTables(): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string; found: string | null }>(
      'SELECT name, to_regclass($1 || name) AS found FROM unnest($2::text[]) AS name',
      [`${this.app}.`, APP_TABLES],
    );
    return rows.filter((r) => !r.found).map((r) => r.name);
  }

  /** Loads the world of the app schema, or seeds it with `generate(size)` when it has none; counts a run. */
  async open(size: WorldSize, generate: (size: WorldSize) => SeedWorld, postCapacity: number): Promise<OpenedWorld> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`pulse.simulator.world.${this.appSchema}`]);
      const marker = await client.query<{ seed: string }>(`SELECT seed FROM ${this.own}.worlds WHERE app_schema = $1`, [this.appSchema]);
      let world: World;
      let seeded = false;
      if (marker.rows.length === 0) {
        world = await this.seed(client, generate(size), postCapacity);
        seeded = true;
      } else {
        world = await this.load(client, Number(marker.rows[0].seed), postCapacity);
      }
      const { rows } = await client.query<{ runs: number }>(
        `UPDATE ${this.own}.worlds SET runs = runs + 1, last_run_at = now() WHERE app_schema = $1 RETURNING runs`,
        [this.appSchema],
      );
      await client.query('COMMIT');
      return { world, seed: world.seed, run: rows[0].runs, seeded };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Writes the drifted tastes of these agents. */
  async saveTastes(agents: readonly Agent[]): Promise<void> {
    if (agents.length === 0) return;
    await this.pool.query(
      `UPDATE ${this.own}.agents AS a SET taste = v.taste::real[], updated_at = now()
       FROM unnest($2::bigint[], $3::text[]) AS v(user_id, taste)
       WHERE a.app_schema = $1 AND a.user_id = v.user_id`,
      [this.appSchema, agents.map((a) => a.userId), agents.map((a) => pgArray(a.taste))],
    );
  }

  private async seed(client: PoolClient, seed: SeedWorld, postCapacity: number): Promise<World> {
    const now = Date.now();
    const at = (agoMs: number) => new Date(now - agoMs);
    const userIds = await this.nextIds(client, 'users', seed.people.length);
    const postIds = await this.nextIds(client, 'posts', seed.posts.length);
    const followers = new Array<number>(seed.people.length).fill(0);
    for (const [, followee] of seed.graph.edges) followers[followee]++;
    const comments = new Array<number>(seed.posts.length).fill(0);
    for (const c of seed.comments) comments[c.post]++;

    const people = seed.people;
    await client.query(
      `INSERT INTO ${this.app}.users (id, handle, display_name, email, bio, follower_count, created_at, updated_at)
       SELECT id, handle, display_name, email, bio, follower_count, created_at, created_at
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::timestamptz[])
         AS t(id, handle, display_name, email, bio, follower_count, created_at)`,
      [
        userIds,
        people.map((p) => p.handle),
        people.map((p) => p.displayName),
        people.map((p) => p.email),
        people.map((p) => p.bio),
        followers,
        seed.joinedAgoMs.map(at),
      ],
    );
    await client.query(
      `INSERT INTO ${this.app}.follows (follower_id, followee_id, created_at)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[])`,
      [seed.graph.edges.map(([f]) => userIds[f]), seed.graph.edges.map(([, e]) => userIds[e]), seed.followAgoMs.map(at)],
    );
    await client.query(
      `INSERT INTO ${this.app}.posts (id, author_id, body, tags, like_count, comment_count, created_at)
       SELECT id, author_id, body, string_to_array(tags, ','), like_count, comment_count, created_at
       FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::int[], $6::int[], $7::timestamptz[])
         AS t(id, author_id, body, tags, like_count, comment_count, created_at)`,
      [
        postIds,
        seed.posts.map((p) => userIds[p.author]),
        seed.posts.map((p) => p.body),
        seed.posts.map((p) => p.tags.join(',')),
        seed.posts.map((p) => p.likeCount),
        comments,
        seed.posts.map((p) => at(p.agoMs)),
      ],
    );
    await client.query(
      `INSERT INTO ${this.app}.comments (post_id, author_id, body, created_at)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[])`,
      [
        seed.comments.map((c) => postIds[c.post]),
        seed.comments.map((c) => userIds[c.author]),
        seed.comments.map((c) => c.body),
        seed.comments.map((c) => at(c.agoMs)),
      ],
    );
    await client.query(`INSERT INTO ${this.own}.worlds (app_schema, seed, users, posts, clusters) VALUES ($1, $2, $3, $4, $5)`, [
      this.appSchema,
      seed.seed,
      people.length,
      seed.posts.length,
      TOPIC_CLUSTERS.map((c) => c.name),
    ]);
    await client.query(
      `INSERT INTO ${this.own}.agents (app_schema, user_id, world_index, taste, activity)
       SELECT $1, user_id, world_index, taste::real[], activity FROM unnest($2::bigint[], $3::int[], $4::text[], $5::real[])
         AS t(user_id, world_index, taste, activity)`,
      [this.appSchema, userIds, people.map((p) => p.index), people.map((p) => pgArray(p.taste)), people.map((p) => p.activity)],
    );
    return World.fromSeed(seed, userIds, postIds, postCapacity);
  }

  private async load(client: PoolClient, seed: number, postCapacity: number): Promise<World> {
    const world = await client.query<{ clusters: string[] }>(`SELECT clusters FROM ${this.own}.worlds WHERE app_schema = $1`, [
      this.appSchema,
    ]);
    // Tastes are stored in the cluster order of their seeding; map them onto today's clusters by name.
    const stored = world.rows[0].clusters.map(clusterIndex);
    const { rows } = await client.query<{ user_id: string; taste: number[]; activity: number }>(
      `SELECT a.user_id::text, a.taste, a.activity FROM ${this.own}.agents a
       JOIN ${this.app}.users u ON u.id = a.user_id
       WHERE a.app_schema = $1 ORDER BY a.world_index`,
      [this.appSchema],
    );
    const agents: Agent[] = rows.map((r, index) => {
      const taste = new Float64Array(TOPIC_CLUSTERS.length).fill(0.0005);
      r.taste.forEach((t, i) => stored[i] >= 0 && (taste[stored[i]] = t));
      const sum = taste.reduce((s, t) => s + t, 0);
      for (let c = 0; c < taste.length; c++) taste[c] /= sum;
      return { index, userId: r.user_id, taste, activity: r.activity, mainCluster: taste.indexOf(Math.max(...taste)) };
    });
    if (agents.length === 0) throw new Error(`the simulated world of schema "${this.appSchema}" has no users left`);
    const index = new Map(agents.map((a) => [a.userId, a.index]));
    const ids = agents.map((a) => a.userId);
    const following = agents.map(() => new Set<number>());
    const follows = await client.query<{ follower: string; followee: string }>(
      `SELECT follower_id::text AS follower, followee_id::text AS followee FROM ${this.app}.follows
       WHERE follower_id = ANY($1::bigint[]) AND followee_id = ANY($1::bigint[])
       ORDER BY created_at, follower_id, followee_id`,
      [ids],
    );
    for (const f of follows.rows) {
      const follower = index.get(f.follower);
      const followee = index.get(f.followee);
      if (follower !== undefined && followee !== undefined) following[follower].add(followee);
    }
    const posts = new PostCatalog(postCapacity);
    const recent = await client.query<{ id: string; author: string; cluster: string | null }>(
      `SELECT id::text, author_id::text AS author, tags[1] AS cluster FROM ${this.app}.posts
       WHERE author_id = ANY($1::bigint[]) ORDER BY id DESC LIMIT $2`,
      [ids, postCapacity],
    );
    for (const p of recent.rows.reverse()) posts.add(p.id, { cluster: clusterIndex(p.cluster), author: index.get(p.author) ?? -1 });
    const count = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.app}.posts WHERE author_id = ANY($1::bigint[])`, [
      ids,
    ]);
    return new World(seed, agents, following, posts, Number(count.rows[0].n));
  }

  /** `n` ids from the identity sequence of an app table, so rows can be written with known ids. */
  private async nextIds(client: PoolClient, table: string, n: number): Promise<string[]> {
    const { rows } = await client.query<{ id: string }>(
      `SELECT nextval(pg_get_serial_sequence($1, 'id'))::text AS id FROM generate_series(1, $2)`,
      [`${this.app}.${table}`, n],
    );
    return rows.map((r) => r.id);
  }
}

/** A PostgreSQL array literal of numbers. */
function pgArray(values: ArrayLike<number>): string {
  return `{${Array.from(values, (v) => v.toPrecision(6)).join(',')}}`;
}
