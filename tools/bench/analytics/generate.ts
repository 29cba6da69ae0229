/**
 * Writes a synthetic lake for the analytics bench, in the layout of the etl service's bronze tables:
 * bronze/activity (tracked events, ~1% redelivered), bronze/cdc/public.{users,posts,follows,blocks} (Debezium
 * envelopes, op `r`/`c`), partitioned by day. DuckDB generates the rows from `range()` with hashes (the same
 * sizes give the same data) and writes zstd Parquet; @pulse/lake writes the Delta logs (one commit per table).
 * Followees are skewed (a few users have very many followers), as on a real network.
 *
 *   ts-node --transpile-only -r tsconfig-paths/register tools/bench/analytics/generate.ts <lake dir>
 *
 * Sizes: BENCH_USERS (500000), BENCH_EDGES (10000000), BENCH_EVENTS (50000000), BENCH_POSTS (1000000),
 * BENCH_BLOCKS (BENCH_EDGES / 1000), BENCH_DAYS (30), BENCH_DUCKDB_MEMORY (8GB). Prints one JSON line: rows per table and seconds.
 */
import { DeltaTable, type DeltaColumn, LakeEngine, LocalLakeStorage } from '@pulse/lake';
// the bronze tables' columns as etl writes them (one copy on the reading side: the analytics tests' fixture)
import { ACTIVITY_COLUMNS as ACTIVITY, CDC_COLUMNS as CDC } from '../../../apps/analytics/test/fixtures/bronze-lake';

const int = (name: string, fallback: number) => Number((process.env[name] ?? String(fallback)).replace(/_/g, ''));
const USERS = int('BENCH_USERS', 500_000);
const EDGES = int('BENCH_EDGES', 10_000_000);
const EVENTS = int('BENCH_EVENTS', 50_000_000);
const POSTS = int('BENCH_POSTS', 1_000_000);
const DAYS = int('BENCH_DAYS', 30);
const BLOCKS = int('BENCH_BLOCKS', Math.round(EDGES / 1000));
const START = '2024-03-04 00:00:00';
/** The seeded rows' time (a day before the first day of activity), and the simulated span in seconds. */
const SEED_AT = `TIMESTAMPTZ '${START}+00' - INTERVAL 1 DAY`;
const SPAN = `${DAYS} * 86400`;
const TOPICS = ['sports', 'music', 'tech', 'food', 'travel', 'news', 'art', 'games', 'science', 'fashion'];

/** Uniform in [0, 1) from a hash of the arguments. */
const u = (...args: string[]) => `((hash(${args.join(', ')}) % 1000000007) / 1000000007.0)`;
const iso = (ts: string) => `strftime(${ts}, '%Y-%m-%dT%H:%M:%S.%fZ')`;

function cdcSelect(image: string, key: string, at: string, op: string, lsn: string, offset: string): string {
  return `SELECT ${key} AS "key", '${op}' AS op, CAST(NULL AS VARCHAR) AS "before", ${image} AS "after",
      ${at} AS source_ts, ${lsn} AS lsn, ${lsn} AS tx_id, '${op === 'r' ? 'true' : 'false'}' AS snapshot, ${at} AS ts,
      0 AS kafka_partition, ${offset} AS kafka_offset, ${at} AS kafka_timestamp, CAST(${at} AS DATE) AS change_date`;
}

/**
 * `count` distinct pairs (a, b) of users as the CTE `timed` (a, b, n, made_at): a uniform, b skewed towards low ids
 * (squared uniform: hubs), no pair of a user with themself; a few more drawn than needed so that `count` remain;
 * made_at spread over the days in n's order. `saltA`/`saltB` make the draws of one table differ from another's.
 */
function skewedPairs(count: number, saltA: string, saltB: string): string {
  return `WITH drawn AS (
       SELECT DISTINCT ON (a, b) a, b, i FROM (
         SELECT i, 1 + CAST(floor(${USERS} * ${u('i', `'${saltA}'`)}) AS BIGINT) AS a,
                1 + CAST(floor(${USERS} * pow(${u('i', `'${saltB}'`)}, 2)) AS BIGINT) AS b
         FROM range(0, ${Math.ceil(count * 1.1)}) t(i)
       ) WHERE a <> b
     ),
     -- LIMIT, not QUALIFY n < count: DuckDB turns a filtered row_number into a top-n arg_min, bounded to 1M rows
     kept AS (SELECT *, row_number() OVER (ORDER BY i) - 1 AS n FROM (SELECT * FROM drawn ORDER BY i LIMIT ${count})),
     timed AS (SELECT *, ${SEED_AT} + to_seconds(CAST(${SPAN} * n / ${Math.max(count, 1)} AS BIGINT)) AS made_at FROM kept)`;
}

async function main(): Promise<void> {
  const root = process.argv[2];
  if (!root) throw new Error('usage: generate.ts <lake dir>');
  const started = Date.now();
  const engine = await LakeEngine.create({ memoryLimit: process.env['BENCH_DUCKDB_MEMORY'] ?? '8GB', threads: 2 });
  const storage = new LocalLakeStorage(root);
  const rows: Record<string, number> = {};
  const write = async (path: string, columns: DeltaColumn[], partition: string, sql: string) => {
    const t = Date.now();
    const table = await DeltaTable.create(storage, path, { columns, partitionColumns: [partition] }, { engine });
    const result = await table.appendFrom(sql, { operation: 'WRITE' });
    rows[path] = result.rows;
    process.stderr.write(
      `bench: wrote ${path}: ${result.rows} rows, ${result.files.length} files in ${((Date.now() - t) / 1000).toFixed(1)} s\n`,
    );
  };

  await write(
    'bronze/cdc/public.users',
    CDC,
    'change_date',
    cdcSelect(
      `json_object('id', i, 'handle', 'user_' || i, 'display_name', 'User ' || i, 'is_verified', i % 97 = 0, 'follower_count', 0,
                   'created_at', ${iso(`${SEED_AT} - to_seconds(i)`)})::VARCHAR`,
      `json_object('id', i)::VARCHAR`,
      SEED_AT,
      'r',
      '1000 + i',
      'i',
    ) + ` FROM range(1, ${USERS + 1}) t(i)`,
  );

  await write(
    'bronze/cdc/public.posts',
    CDC,
    'change_date',
    `WITH p AS (
       SELECT i, 1 + CAST(floor(${USERS} * ${u('i', "'author'")}) AS BIGINT) AS author,
              ${SEED_AT} + to_seconds(CAST(${SPAN} * ${u('i', "'at'")} AS BIGINT)) AS made_at
       FROM range(1, ${POSTS + 1}) t(i)
     )
     ${cdcSelect(
       `json_object('id', i, 'author_id', author, 'body', 'post ' || i, 'visibility', 'public',
                    'tags', json_array(${JSON.stringify(TOPICS).replace(/"/g, "'")}[1 + (author % ${TOPICS.length})], 'tag' || (i % 50)),
                    'like_count', 0, 'comment_count', 0, 'created_at', ${iso('made_at')})::VARCHAR`,
       `json_object('id', i)::VARCHAR`,
       'made_at',
       'c',
       `${USERS + 1000} + i`,
       'i',
     )} FROM p`,
  );

  // Follow edges: the follower uniform, the followee skewed towards low ids (squared uniform: hubs), no self
  // follows, distinct pairs; a few more drawn than needed so that EDGES remain.
  await write(
    'bronze/cdc/public.follows',
    CDC,
    'change_date',
    `${skewedPairs(EDGES, 'f', 'e')}
     ${cdcSelect(
       `json_object('follower_id', a, 'followee_id', b, 'created_at', ${iso('made_at')}, 'muted', false)::VARCHAR`,
       `json_object('follower_id', a, 'followee_id', b)::VARCHAR`,
       'made_at',
       'c',
       `${USERS + POSTS + 1000} + n`,
       'n',
     )} FROM timed`,
  );

  // Blocks: BENCH_BLOCKS pairs (a thousandth of the edges by default), drawn as the edges are (hubs draw blocks too).
  await write(
    'bronze/cdc/public.blocks',
    CDC,
    'change_date',
    `${skewedPairs(BLOCKS, 'ba', 'bb')}
     ${cdcSelect(
       `json_object('blocker_id', a, 'blocked_id', b, 'created_at', ${iso('made_at')})::VARCHAR`,
       `json_object('blocker_id', a, 'blocked_id', b)::VARCHAR`,
       'made_at',
       'c',
       `${USERS + POSTS + EDGES + 2000} + n`,
       'n',
     )} FROM timed`,
  );

  // Activity: users uniform, posts skewed (popular posts), types in proportion, sessions per user and day,
  // half of the post events from a recommendation list; 1% of the events delivered twice.
  const types = `CASE WHEN r < 0.50 THEN 'IMPRESSION' WHEN r < 0.70 THEN 'VIEW' WHEN r < 0.85 THEN 'CLICK' WHEN r < 0.95 THEN 'LIKE'
                      WHEN r < 0.97 THEN 'COMMENT' WHEN r < 0.98 THEN 'SHARE' ELSE 'FOLLOW' END`;
  await write(
    'bronze/activity',
    ACTIVITY,
    'event_date',
    `WITH base AS (
       SELECT i, 1 + CAST(floor(${USERS} * ${u('i', "'u'")}) AS BIGINT) AS user_no, ${u('i', "'t'")} AS r,
              TIMESTAMPTZ '${START}+00' + to_microseconds(CAST(${SPAN} * 1000000.0 * i / ${EVENTS} AS BIGINT)) AS made_at
       FROM range(0, ${EVENTS}) t(i)
     ),
     events AS (
       SELECT *, ${types} AS type FROM base
     ),
     delivered AS (
       SELECT i, user_no, type, made_at, made_at + INTERVAL 150 MILLISECOND AS received, i AS offset_no FROM events
       UNION ALL
       SELECT i, user_no, type, made_at, made_at + INTERVAL 60 SECOND AS received, ${EVENTS} + i AS offset_no FROM events WHERE i % 100 = 7
     )
     SELECT 'e-' || i AS event_id, CAST(user_no AS VARCHAR) AS user_id, type,
            CASE WHEN type = 'FOLLOW' THEN 'USER' ELSE 'POST' END AS target_type,
            CASE WHEN type = 'FOLLOW' THEN CAST(1 + CAST(floor(${USERS} * pow(${u('i', "'x'")}, 2)) AS BIGINT) AS VARCHAR)
                 ELSE CAST(1 + CAST(floor(${POSTS} * pow(${u('i', "'p'")}, 2)) AS BIGINT) AS VARCHAR) END AS target_id,
            made_at AS occurred_at, received AS received_at,
            's-' || user_no || '-' || CAST(epoch(made_at) / 3600 AS BIGINT) AS session_id,
            CASE WHEN ${u('i', "'rec'")} < 0.5 THEN 'rec-' || user_no || '-' || CAST(epoch(made_at) / 3600 AS BIGINT) END AS recommendation_id,
            MAP([]::VARCHAR[], []::VARCHAR[]) AS properties,
            ['WEB', 'IOS', 'ANDROID'][1 + user_no % 3] AS platform, 'pulse-bench/1' AS app_version, 'bench' AS client_id,
            CAST(offset_no % 12 AS INTEGER) AS kafka_partition, offset_no AS kafka_offset, received AS kafka_timestamp,
            CAST(made_at AS DATE) AS event_date
     FROM delivered`,
  );
  engine.close();
  process.stdout.write(`${JSON.stringify({ rows, seconds: Math.round((Date.now() - started) / 100) / 10 })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: generate failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
