/**
 * The single-machine anchor of the analytics bench: one job's computation done by DuckDB in this process,
 * from the same Delta tables the Spark job read (through @pulse/lake), its output written as zstd Parquet
 * (partitioned as the job's table is). Prints one JSON line: seconds (SQL and write, without the process
 * start), the process's peak resident memory, and the output's rows.
 *
 *   ts-node --transpile-only -r tsconfig-paths/register tools/bench/analytics/anchor.ts <job> <lake dir> <out dir>
 *
 * The SQL follows each job's Spark SQL (apps/analytics/src/jobs) statement by statement; PageRank and label
 * propagation run the same number of rounds (BENCH_GRAPH_ITERATIONS) as the bench asks of Spark.
 * BENCH_DUCKDB_MEMORY (8GB) and BENCH_DUCKDB_THREADS (2) bound DuckDB.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DeltaTable, LakeEngine, LocalLakeStorage } from '@pulse/lake';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const ITERATIONS = Number(process.env['BENCH_GRAPH_ITERATIONS'] ?? '10');

type Tables = Record<string, string>;
interface Anchor {
  inputs: string[];
  partitionBy?: string;
  /** Statements run before the final query (temp tables), then the final query. */
  run(c: DuckDBConnection, t: Tables): Promise<string>;
}

const scalar = async (c: DuckDBConnection, sql: string): Promise<number> => Number((await c.runAndReadAll(sql)).getRows()[0][0]);

const ANCHORS: Record<string, Anchor> = {
  silver_activity: {
    inputs: ['bronze/activity'],
    partitionBy: 'event_date',
    run: async (_c, t) => `
      SELECT * EXCLUDE (delivery, kafka_partition, kafka_offset, kafka_timestamp) FROM (
        SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY received_at NULLS LAST, kafka_timestamp NULLS LAST, kafka_partition, kafka_offset) AS delivery
        FROM ${t['bronze/activity']}
      ) WHERE delivery = 1`,
  },
  silver_sessions: {
    inputs: ['silver/activity'],
    partitionBy: 'session_date',
    run: async (_c, t) => `
      WITH events AS (
        SELECT user_id, event_id, occurred_at, type, session_id, platform,
               CASE WHEN lag(occurred_at) OVER w IS NULL OR occurred_at - lag(occurred_at) OVER w > INTERVAL 30 MINUTE THEN 1 ELSE 0 END AS starts
        FROM ${t['silver/activity']} WINDOW w AS (PARTITION BY user_id ORDER BY occurred_at, event_id)
      ),
      numbered AS (SELECT *, sum(starts) OVER (PARTITION BY user_id ORDER BY occurred_at, event_id ROWS UNBOUNDED PRECEDING) AS session_no FROM events)
      SELECT user_id, user_id || ':' || epoch_ms(min(occurred_at)) AS session_key, min(occurred_at) AS session_start, max(occurred_at) AS session_end,
             (epoch_ms(max(occurred_at)) - epoch_ms(min(occurred_at))) / 1000.0 AS duration_seconds, count(*) AS events,
             count(*) FILTER (WHERE type = 'IMPRESSION') AS impressions, count(*) FILTER (WHERE type = 'VIEW') AS views,
             count(*) FILTER (WHERE type = 'CLICK') AS clicks, count(*) FILTER (WHERE type = 'LIKE') AS likes,
             count(*) FILTER (WHERE type = 'COMMENT') AS comments, count(*) FILTER (WHERE type = 'SHARE') AS shares,
             count(*) FILTER (WHERE type = 'FOLLOW') AS follows, count(DISTINCT session_id) AS client_sessions,
             arg_max(platform, occurred_at) AS platform, CAST(min(occurred_at) AS DATE) AS session_date
      FROM numbered GROUP BY user_id, session_no`,
  },
  silver_follows: {
    inputs: ['bronze/cdc/public.follows'],
    run: async (c, t) => {
      await c.run(`CREATE TEMP TABLE follows_now AS
        SELECT json_extract_string(j, '$.follower_id') AS follower_id, json_extract_string(j, '$.followee_id') AS followee_id,
               coalesce(CAST(json_extract(j, '$.muted') AS BOOLEAN), false) AS muted, TRY_CAST(json_extract_string(j, '$.created_at') AS TIMESTAMPTZ) AS created_at
        FROM (
          SELECT op, coalesce("after", "before") AS j,
                 row_number() OVER (PARTITION BY json_extract_string(coalesce("after", "before"), '$.follower_id'), json_extract_string(coalesce("after", "before"), '$.followee_id')
                                    ORDER BY lsn DESC NULLS LAST, source_ts DESC NULLS LAST, kafka_partition DESC, kafka_offset DESC) AS latest
          FROM ${t['bronze/cdc/public.follows']}
        ) WHERE latest = 1 AND op <> 'd' AND json_extract_string(j, '$.follower_id') <> json_extract_string(j, '$.followee_id')`);
      return `SELECT f.*, b.follower_id IS NOT NULL AS mutual FROM follows_now f
              LEFT JOIN follows_now b ON b.follower_id = f.followee_id AND b.followee_id = f.follower_id`;
    },
  },
  active_users: {
    inputs: ['silver/activity'],
    run: async (c, t) => {
      await c.run(`CREATE TEMP TABLE user_days AS SELECT DISTINCT user_id, event_date FROM ${t['silver/activity']}`);
      const claimed = (span: number) => `
        SELECT activity_date, count(*) AS users FROM (
          SELECT CAST(unnest(generate_series(greatest(event_date, coalesce(previous + ${span}, event_date)), event_date + ${span - 1}, INTERVAL 1 DAY)) AS DATE) AS activity_date
          FROM spans
        ) GROUP BY activity_date`;
      return `
        WITH spans AS (SELECT event_date, lag(event_date) OVER (PARTITION BY user_id ORDER BY event_date) AS previous FROM user_days),
        bounds AS (SELECT min(event_date) AS first_day, max(event_date) AS last_day FROM user_days),
        daily AS (SELECT event_date AS activity_date, count(*) AS users FROM user_days GROUP BY event_date),
        weekly AS (${claimed(7)}),
        monthly AS (${claimed(30)})
        SELECT m.activity_date, coalesce(d.users, 0) AS dau, coalesce(w.users, 0) AS wau, m.users AS mau,
               coalesce(d.users, 0) / m.users AS stickiness
        FROM monthly m CROSS JOIN bounds b
        LEFT JOIN weekly w ON w.activity_date = m.activity_date LEFT JOIN daily d ON d.activity_date = m.activity_date
        WHERE m.activity_date BETWEEN b.first_day AND b.last_day`;
    },
  },
  retention_cohorts: {
    inputs: ['silver/activity'],
    run: async (_c, t) => `
      WITH weeks AS (SELECT DISTINCT user_id, CAST(date_trunc('week', event_date) AS DATE) AS week FROM ${t['silver/activity']}),
      cohorts AS (SELECT user_id, min(week) AS cohort_week FROM weeks GROUP BY user_id),
      sizes AS (SELECT cohort_week, count(*) AS cohort_size FROM cohorts GROUP BY cohort_week)
      SELECT c.cohort_week, CAST((w.week - c.cohort_week) / 7 AS INTEGER) AS week_offset, s.cohort_size, count(*) AS active_users,
             count(*) / s.cohort_size AS retention
      FROM weeks w JOIN cohorts c USING (user_id) JOIN sizes s USING (cohort_week) GROUP BY c.cohort_week, w.week, s.cohort_size`,
  },
  engagement_funnel: {
    inputs: ['silver/activity'],
    partitionBy: 'event_date',
    run: async (c, t) => {
      await c.run(`CREATE TEMP TABLE post_events AS SELECT event_date, user_id, target_id, type, occurred_at, recommendation_id
        FROM ${t['silver/activity']} WHERE target_type = 'POST' AND type IN ('IMPRESSION', 'CLICK', 'LIKE')`);
      return `
        WITH impressed AS (
          SELECT event_date, user_id, target_id, min(occurred_at) AS impressed_at, bool_or(recommendation_id IS NOT NULL) AS recommended
          FROM post_events WHERE type = 'IMPRESSION' GROUP BY ALL
        ),
        clicked AS (
          SELECT i.event_date, i.user_id, i.target_id, min(c.occurred_at) AS clicked_at FROM impressed i
          JOIN post_events c ON c.type = 'CLICK' AND c.event_date = i.event_date AND c.user_id = i.user_id AND c.target_id = i.target_id AND c.occurred_at >= i.impressed_at
          GROUP BY ALL
        ),
        liked AS (
          SELECT DISTINCT k.event_date, k.user_id, k.target_id, true AS liked FROM clicked k
          JOIN post_events l ON l.type = 'LIKE' AND l.event_date = k.event_date AND l.user_id = k.user_id AND l.target_id = k.target_id AND l.occurred_at >= k.clicked_at
        )
        SELECT i.event_date, CASE WHEN i.recommended THEN 'recommended' ELSE 'organic' END AS surface, count(*) AS impressed,
               count(k.clicked_at) AS clicked, count(l.liked) AS liked
        FROM impressed i LEFT JOIN clicked k USING (event_date, user_id, target_id) LEFT JOIN liked l USING (event_date, user_id, target_id)
        GROUP BY ALL`;
    },
  },
  follow_counts: {
    inputs: ['silver/follows'],
    run: async (_c, t) => `
      WITH f AS (SELECT follower_id, followee_id, mutual FROM ${t['silver/follows']}),
      o AS (SELECT follower_id AS user_id, count(*) AS following, count(*) FILTER (WHERE mutual) AS mutual_follows FROM f GROUP BY 1),
      i AS (SELECT followee_id AS user_id, count(*) AS followers FROM f GROUP BY 1)
      SELECT user_id, coalesce(i.followers, 0) AS followers, coalesce(o.following, 0) AS following, coalesce(o.mutual_follows, 0) AS mutual_follows
      FROM o FULL OUTER JOIN i USING (user_id)`,
  },
  pagerank: {
    inputs: ['silver/follows'],
    run: async (c, t) => {
      await c.run(`CREATE TEMP TABLE edges AS
        WITH e AS (SELECT DISTINCT follower_id AS src, followee_id AS dst FROM ${t['silver/follows']} WHERE follower_id <> followee_id)
        SELECT src, dst, 1.0 / count(*) OVER (PARTITION BY src) AS weight FROM e`);
      await c.run(`CREATE TEMP TABLE nodes AS
        SELECT id, coalesce(max(out_degree), 0) AS out_degree, coalesce(max(in_degree), 0) AS in_degree FROM (
          SELECT src AS id, count(*) AS out_degree, NULL AS in_degree FROM edges GROUP BY src
          UNION ALL SELECT dst AS id, NULL, count(*) FROM edges GROUP BY dst) GROUP BY id`);
      const n = await scalar(c, 'SELECT count(*) FROM nodes');
      await c.run(`CREATE TEMP TABLE ranks AS SELECT id, 1.0 / ${n} AS rank FROM nodes`);
      for (let i = 0; i < ITERATIONS; i++) {
        await c.run(`CREATE OR REPLACE TEMP TABLE next_ranks AS
          WITH dangling AS (SELECT coalesce(sum(r.rank), 0) AS mass FROM ranks r JOIN nodes v USING (id) WHERE v.out_degree = 0),
          received AS (SELECT e.dst AS id, sum(r.rank * e.weight) AS rank FROM edges e JOIN ranks r ON r.id = e.src GROUP BY e.dst)
          SELECT v.id, 0.15 / ${n} + 0.85 * (coalesce(x.rank, 0) + d.mass / ${n}) AS rank FROM nodes v LEFT JOIN received x USING (id) CROSS JOIN dangling d`);
        await scalar(c, 'SELECT sum(abs(a.rank - b.rank)) FROM next_ranks a JOIN ranks b USING (id)');
        await c.run('DROP TABLE ranks; ALTER TABLE next_ranks RENAME TO ranks');
      }
      return `SELECT v.id AS user_id, r.rank AS pagerank, CAST(row_number() OVER (ORDER BY r.rank DESC, v.id) AS INTEGER) AS pagerank_rank,
                     v.in_degree AS followers, v.out_degree AS following FROM nodes v JOIN ranks r USING (id)`;
    },
  },
  communities: {
    inputs: ['silver/follows'],
    run: async (c, t) => {
      await c.run(`CREATE TEMP TABLE links AS SELECT DISTINCT a, b FROM (
          SELECT follower_id AS a, followee_id AS b FROM ${t['silver/follows']} UNION ALL SELECT followee_id, follower_id FROM ${t['silver/follows']}
        ) WHERE a <> b`);
      await c.run('CREATE TEMP TABLE labels AS SELECT DISTINCT a AS id, a AS label FROM links');
      for (let round = 1; round <= ITERATIONS; round++) {
        await c.run(`CREATE OR REPLACE TEMP TABLE next_labels AS
          WITH votes AS (SELECT k.a AS id, l.label, count(*) AS n FROM links k JOIN labels l ON l.id = k.b GROUP BY k.a, l.label),
          ranked AS (SELECT v.id, v.label, v.n, max(v.n) OVER (PARTITION BY v.id) AS top, cur.label AS current FROM votes v JOIN labels cur ON cur.id = v.id),
          chosen AS (SELECT id, CASE WHEN bool_or(label = current) THEN max(current) ELSE min(label) END AS label FROM ranked WHERE n = top GROUP BY id)
          SELECT l.id, CASE WHEN hash(l.id, ${round}) % 2 = 0 THEN coalesce(c.label, l.label) ELSE l.label END AS label,
                 coalesce(c.label, l.label) <> l.label AS unstable
          FROM labels l LEFT JOIN chosen c ON c.id = l.id`);
        const unstable = await scalar(c, 'SELECT count(*) FILTER (WHERE unstable) FROM next_labels');
        await c.run('DROP TABLE labels; ALTER TABLE next_labels RENAME TO labels');
        if (unstable === 0) break;
      }
      return 'SELECT id AS user_id, label AS community_id, count(*) OVER (PARTITION BY label) AS community_size FROM labels';
    },
  },
  pymk: {
    inputs: ['silver/follows', 'gold/communities', 'silver/activity', 'silver/blocks'],
    run: async (c, t) => {
      await c.run(`CREATE TEMP TABLE follows AS SELECT follower_id AS u, followee_id AS v, created_at, mutual FROM ${t['silver/follows']}`);
      await c.run(`CREATE TEMP TABLE reached AS
        WITH circle AS (SELECT u, v AS w FROM (SELECT u, v, row_number() OVER (PARTITION BY u ORDER BY mutual DESC, created_at DESC NULLS LAST, v) AS k FROM follows) WHERE k <= 100),
        reach AS (SELECT u AS w, v AS c FROM (SELECT u, v, row_number() OVER (PARTITION BY u ORDER BY created_at DESC NULLS LAST, v) AS k FROM follows) WHERE k <= 200)
        SELECT ci.u, r.c, count(*) AS common FROM circle ci JOIN reach r ON r.w = ci.w WHERE r.c <> ci.u GROUP BY ci.u, r.c`);
      return `
        WITH candidates AS (
          SELECT x.* FROM reached x ANTI JOIN follows f ON f.u = x.u AND f.v = x.c
          ANTI JOIN ${t['silver/blocks']} b ON b.blocker_id = x.u AND b.blocked_id = x.c
          ANTI JOIN ${t['silver/blocks']} back ON back.blocker_id = x.c AND back.blocked_id = x.u
        ),
        recent AS (
          SELECT user_id, count(DISTINCT event_date) AS active_days FROM ${t['silver/activity']}
          WHERE event_date > (SELECT max(event_date) FROM ${t['silver/activity']}) - 28 GROUP BY user_id
        ),
        scored AS (
          SELECT c.u AS user_id, c.c AS candidate_id, c.common AS common_connections, coalesce(cu.community_id = cc.community_id, false) AS same_community,
                 coalesce(a.active_days, 0) AS candidate_active_days,
                 c.common + CASE WHEN cu.community_id = cc.community_id THEN 0.5 ELSE 0 END + 0.5 * coalesce(a.active_days, 0) / 28 AS score
          FROM candidates c LEFT JOIN ${t['gold/communities']} cu ON cu.user_id = c.u LEFT JOIN ${t['gold/communities']} cc ON cc.user_id = c.c
          LEFT JOIN recent a ON a.user_id = c.c
        )
        SELECT user_id, rank, candidate_id, score, common_connections, same_community, candidate_active_days FROM (
          SELECT *, CAST(row_number() OVER (PARTITION BY user_id ORDER BY score DESC, common_connections DESC, candidate_id) AS INTEGER) AS rank FROM scored
        ) WHERE rank <= 20`;
    },
  },
};

async function main(): Promise<void> {
  const [job, lake, out] = process.argv.slice(2);
  const anchor = ANCHORS[job ?? ''];
  if (!anchor || !lake || !out) throw new Error(`usage: anchor.ts <${Object.keys(ANCHORS).join('|')}> <lake dir> <out dir>`);
  const engine = await LakeEngine.create({
    memoryLimit: process.env['BENCH_DUCKDB_MEMORY'] ?? '8GB',
    threads: Number(process.env['BENCH_DUCKDB_THREADS'] ?? '2'),
    tempDirectory: join(out, 'duckdb.tmp'),
  });
  const storage = new LocalLakeStorage(lake);
  const tables: Tables = {};
  for (const path of anchor.inputs) tables[path] = await (await DeltaTable.open(storage, path, { engine })).scanSql();
  const c = await engine.connect();
  const started = performance.now();
  const query = await anchor.run(c, tables);
  const target = join(out, job);
  rmSync(anchor.partitionBy ? target : `${target}.parquet`, { recursive: true, force: true }); // a resumed bench's earlier try
  await c.run(
    `COPY (${query}) TO '${target}${anchor.partitionBy ? '' : '.parquet'}' (FORMAT parquet, COMPRESSION zstd${anchor.partitionBy ? `, PARTITION_BY (${anchor.partitionBy})` : ''})`,
  );
  const seconds = (performance.now() - started) / 1000;
  const rows = await scalar(c, `SELECT count(*) FROM read_parquet('${target}${anchor.partitionBy ? '/**/*.parquet' : '.parquet'}')`);
  c.closeSync();
  engine.close();
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`${JSON.stringify({ job, seconds: Math.round(seconds * 10) / 10, peak_rss_mb: peakRssMb, rows })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: anchor failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
