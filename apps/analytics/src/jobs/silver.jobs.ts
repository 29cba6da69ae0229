import { cdcBronzeLayout } from '@pulse/lake';
import { intParameter, type Expectation, type JobContext, type JobDefinition } from './job-definition';

/**
 * Silver: bronze cleaned up. Activity deduplicated on event_id and cut into sessions; the app database's
 * users, posts, follows and blocks at their latest state, replayed from the CDC bronze tables (Debezium envelopes).
 */

export const BRONZE_ACTIVITY = 'bronze/activity';
export const CDC_USERS = 'bronze/cdc/public.users';
export const CDC_POSTS = 'bronze/cdc/public.posts';
export const CDC_FOLLOWS = 'bronze/cdc/public.follows';
export const CDC_BLOCKS = 'bronze/cdc/public.blocks';

export const SILVER_ACTIVITY = 'silver/activity';
export const SILVER_SESSIONS = 'silver/activity_sessions';
export const SILVER_USERS = 'silver/users';
export const SILVER_POSTS = 'silver/posts';
export const SILVER_FOLLOWS = 'silver/follows';
export const SILVER_BLOCKS = 'silver/blocks';

const ACTIVITY_COLUMNS = [
  'event_id',
  'user_id',
  'type',
  'target_type',
  'target_id',
  'occurred_at',
  'received_at',
  'session_id',
  'recommendation_id',
  'properties',
  'platform',
  'app_version',
  'client_id',
  'event_date',
];

export const silverActivity: JobDefinition = {
  name: 'silver_activity',
  description: 'Tracked activity deduplicated on event_id: the first delivery of each event (by received_at, then Kafka position).',
  layer: 'silver',
  inputs: [BRONZE_ACTIVITY],
  output: { path: SILVER_ACTIVITY, partitionBy: ['event_date'], description: 'one tracked event' },
  schedule: '5 * * * *',
  expectations: [
    {
      input: BRONZE_ACTIVITY,
      rule: 'every event has an event_id, a user_id and an occurred_at',
      sql: (ctx) => `SELECT count(*) AS violations, first(coalesce(event_id, concat('offset ', kafka_offset))) AS example
        FROM ${ctx.input(BRONZE_ACTIVITY)}
        WHERE coalesce(event_id, '') = '' OR coalesce(user_id, '') = '' OR occurred_at IS NULL`,
    },
  ],
  build: async (ctx) => `
    SELECT ${ACTIVITY_COLUMNS.join(', ')} FROM (
      SELECT *, row_number() OVER (
        PARTITION BY event_id
        ORDER BY received_at ASC NULLS LAST, kafka_timestamp ASC NULLS LAST, kafka_partition, kafka_offset) AS delivery
      FROM ${ctx.input(BRONZE_ACTIVITY)}
    ) WHERE delivery = 1`,
};

export const silverSessions: JobDefinition = {
  name: 'silver_sessions',
  description:
    "Activity cut into sessions: a user's events with no gap longer than gap_minutes form one session (event time, as the etl service's session windows).",
  layer: 'silver',
  inputs: [SILVER_ACTIVITY],
  output: { path: SILVER_SESSIONS, partitionBy: ['session_date'], description: 'one session of one user' },
  schedule: '15 * * * *',
  parameters: [intParameter('gap_minutes', 30, 1, 1440, 'inactivity that ends a session, minutes')],
  build: async (ctx) => {
    const gapMicros = Number(ctx.params['gap_minutes']) * 60_000_000;
    return `
      WITH events AS (
        SELECT user_id, event_id, occurred_at, type, session_id, platform,
               CASE WHEN lag(occurred_at) OVER by_user IS NULL
                      OR unix_micros(occurred_at) - unix_micros(lag(occurred_at) OVER by_user) > ${gapMicros}
                    THEN 1 ELSE 0 END AS starts
        FROM ${ctx.input(SILVER_ACTIVITY)}
        WINDOW by_user AS (PARTITION BY user_id ORDER BY occurred_at, event_id)
      ),
      numbered AS (
        SELECT *, sum(starts) OVER (PARTITION BY user_id ORDER BY occurred_at, event_id ROWS UNBOUNDED PRECEDING) AS session_no
        FROM events
      )
      SELECT user_id,
             concat(user_id, ':', CAST(unix_millis(min(occurred_at)) AS STRING)) AS session_key,
             min(occurred_at) AS session_start,
             max(occurred_at) AS session_end,
             CAST(unix_millis(max(occurred_at)) - unix_millis(min(occurred_at)) AS DOUBLE) / 1000 AS duration_seconds,
             count(*) AS events,
             count_if(type = 'IMPRESSION') AS impressions,
             count_if(type = 'VIEW') AS views,
             count_if(type = 'CLICK') AS clicks,
             count_if(type = 'LIKE') AS likes,
             count_if(type = 'COMMENT') AS comments,
             count_if(type = 'SHARE') AS shares,
             count_if(type = 'FOLLOW') AS follows,
             count(DISTINCT session_id) AS client_sessions,
             max_by(platform, occurred_at) AS platform,
             to_date(min(occurred_at)) AS session_date
      FROM numbered
      GROUP BY user_id, session_no`;
  },
};

/**
 * The latest state of each row of an app-database table from its CDC bronze table: the change with the
 * highest LSN per primary key (Kafka position breaks ties), rows whose latest change is a delete left out.
 * `schema` is the Spark DDL of the columns read from the envelope's after/before JSON.
 */
export function cdcLatestSql(ctx: JobContext, path: string, schema: string, keys: readonly string[]): string {
  return `
    SELECT r.* FROM (
      SELECT op, r, row_number() OVER (
               PARTITION BY ${keys.map((k) => `r.${k}`).join(', ')}
               ORDER BY lsn DESC NULLS LAST, source_ts DESC NULLS LAST, kafka_partition DESC, kafka_offset DESC) AS latest
      FROM (
        SELECT op, from_json(coalesce(after, before), '${schema}') AS r, lsn, source_ts, kafka_partition, kafka_offset
        FROM ${ctx.input(path)}
      )
    ) WHERE latest = 1 AND op <> 'd'`;
}

/** The envelope rules every CDC table keeps: a known op, and the row image the op needs with its key. */
function envelopeExpectation(path: string, schema: string, keys: readonly string[]): Expectation {
  const image = `from_json(coalesce(after, before), '${schema}')`;
  return {
    input: path,
    rule: `every change has op c, u, d or r, the row image it needs (after, or before for d) and ${keys.join(' and ')}`,
    sql: (ctx) => `SELECT count(*) AS violations,
        first(concat('lsn ', coalesce(CAST(lsn AS STRING), '?'), ' op ', coalesce(op, 'null'), ': ', coalesce(after, before, 'no row image'))) AS example
      FROM ${ctx.input(path)}
      WHERE op IS NULL OR op NOT IN ('c', 'u', 'd', 'r')
         OR (op <> 'd' AND after IS NULL)
         OR (op = 'd' AND before IS NULL)
         OR ${keys.map((k) => `${image}.${k} IS NULL`).join(' OR ')}`,
  };
}

const USERS_SCHEMA = 'id BIGINT, handle STRING, display_name STRING, is_verified BOOLEAN, follower_count BIGINT, created_at STRING';
const POSTS_SCHEMA =
  'id BIGINT, author_id BIGINT, visibility STRING, tags ARRAY<STRING>, like_count BIGINT, comment_count BIGINT, created_at STRING';
const FOLLOWS_SCHEMA = 'follower_id BIGINT, followee_id BIGINT, muted BOOLEAN, created_at STRING';
const BLOCKS_SCHEMA = 'blocker_id BIGINT, blocked_id BIGINT, created_at STRING';

/**
 * No rows, with the columns etl gives a CDC bronze table: what a job reads for an app table that has had no change
 * yet (etl creates the bronze table with its first record).
 */
function emptyCdcTable(qualified: string): string {
  const columns = cdcBronzeLayout(qualified, {}).create.columns;
  return `SELECT ${columns.map((c) => `CAST(NULL AS ${c.type}) AS ${c.name}`).join(', ')} WHERE false`;
}

export const silverUsers: JobDefinition = {
  name: 'silver_users',
  description: 'Users at their latest state (CDC of public.users replayed), deleted users left out.',
  layer: 'silver',
  inputs: [CDC_USERS],
  output: { path: SILVER_USERS, partitionBy: [], description: 'one user' },
  schedule: '5 * * * *',
  expectations: [envelopeExpectation(CDC_USERS, USERS_SCHEMA, ['id'])],
  build: async (ctx) => `
    SELECT CAST(id AS STRING) AS user_id, handle, display_name, coalesce(is_verified, false) AS is_verified,
           follower_count, try_cast(created_at AS TIMESTAMP) AS created_at
    FROM (${cdcLatestSql(ctx, CDC_USERS, USERS_SCHEMA, ['id'])})`,
};

export const silverPosts: JobDefinition = {
  name: 'silver_posts',
  description:
    'Posts at their latest state (CDC of public.posts replayed); topic is tags[0], the topic cluster; tags_json the whole list as JSON text.',
  layer: 'silver',
  inputs: [CDC_POSTS],
  output: { path: SILVER_POSTS, partitionBy: [], description: 'one post' },
  schedule: '5 * * * *',
  expectations: [envelopeExpectation(CDC_POSTS, POSTS_SCHEMA, ['id'])],
  build: async (ctx) => `
    SELECT CAST(id AS STRING) AS post_id, CAST(author_id AS STRING) AS author_id,
           CASE WHEN size(tags) > 0 THEN tags[0] END AS topic, to_json(coalesce(tags, array())) AS tags_json, visibility,
           like_count, comment_count, try_cast(created_at AS TIMESTAMP) AS created_at
    FROM (${cdcLatestSql(ctx, CDC_POSTS, POSTS_SCHEMA, ['id'])})`,
};

export const silverFollows: JobDefinition = {
  name: 'silver_follows',
  description:
    'The follow graph at its latest state (CDC of public.follows replayed): one row per current edge, with whether it is mutual.',
  layer: 'silver',
  inputs: [CDC_FOLLOWS],
  output: { path: SILVER_FOLLOWS, partitionBy: [], description: 'one follow edge (follower → followee)' },
  schedule: '5 * * * *',
  expectations: [envelopeExpectation(CDC_FOLLOWS, FOLLOWS_SCHEMA, ['follower_id', 'followee_id'])],
  build: async (ctx) => {
    await ctx.stage(
      'follows_now',
      `SELECT CAST(follower_id AS STRING) AS follower_id, CAST(followee_id AS STRING) AS followee_id,
              coalesce(muted, false) AS muted, try_cast(created_at AS TIMESTAMP) AS created_at
       FROM (${cdcLatestSql(ctx, CDC_FOLLOWS, FOLLOWS_SCHEMA, ['follower_id', 'followee_id'])})
       WHERE follower_id <> followee_id`,
    );
    return `
      SELECT f.follower_id, f.followee_id, f.muted, f.created_at, back.follower_id IS NOT NULL AS mutual
      FROM follows_now f
      LEFT JOIN follows_now back ON back.follower_id = f.followee_id AND back.followee_id = f.follower_id`;
  },
};

export const silverBlocks: JobDefinition = {
  name: 'silver_blocks',
  description:
    'Blocks at their latest state (CDC of public.blocks replayed): one row per blocker and blocked user; empty until the app writes its first block.',
  layer: 'silver',
  inputs: [CDC_BLOCKS],
  emptyUntilWritten: { [CDC_BLOCKS]: emptyCdcTable('public.blocks') },
  output: { path: SILVER_BLOCKS, partitionBy: [], description: 'one block (blocker → blocked)' },
  schedule: '5 * * * *',
  expectations: [envelopeExpectation(CDC_BLOCKS, BLOCKS_SCHEMA, ['blocker_id', 'blocked_id'])],
  build: async (ctx) => `
    SELECT CAST(blocker_id AS STRING) AS blocker_id, CAST(blocked_id AS STRING) AS blocked_id,
           try_cast(created_at AS TIMESTAMP) AS created_at
    FROM (${cdcLatestSql(ctx, CDC_BLOCKS, BLOCKS_SCHEMA, ['blocker_id', 'blocked_id'])})`,
};

export const SILVER_JOBS: readonly JobDefinition[] = [
  silverActivity,
  silverSessions,
  silverUsers,
  silverPosts,
  silverFollows,
  silverBlocks,
];
