/**
 * The insights of the analytics jobs written again in DuckDB SQL, straight from the bronze tables (their own
 * deduplication and CDC replay), as the single-machine reference the Spark jobs are checked against
 * (apps/analytics/test/pipeline.int-spec.ts) and timed beside (tools/bench/analytics). Each function takes
 * DuckDB table expressions of the bronze tables (`scanSql` of @pulse/lake) and returns one query.
 */

export interface BronzeSql {
  activity: string;
  posts: string;
  follows: string;
  users: string;
}

/** Activity deduplicated on event_id (first delivery), as a CTE list to prefix queries with. */
export function activityCte(b: BronzeSql): string {
  return `act AS (
    SELECT * EXCLUDE (delivery) FROM (
      SELECT *, row_number() OVER (
        PARTITION BY event_id ORDER BY received_at ASC NULLS LAST, kafka_timestamp ASC NULLS LAST, kafka_partition, kafka_offset) AS delivery
      FROM ${b.activity}
    ) WHERE delivery = 1
  )`;
}

/** The latest state of a CDC table: the row image of the highest-LSN change per key, deletes left out. */
function latestCte(name: string, source: string, keys: string[]): string {
  const keyExprs = keys.map((k) => `json_extract_string(coalesce("after", "before"), '$.${k}')`);
  return `${name} AS (
    SELECT json(coalesce("after", "before")) AS j FROM (
      SELECT *, row_number() OVER (PARTITION BY ${keyExprs.join(', ')} ORDER BY lsn DESC NULLS LAST, source_ts DESC NULLS LAST,
                                   kafka_partition DESC, kafka_offset DESC) AS latest
      FROM ${source}
    ) WHERE latest = 1 AND op <> 'd'
  )`;
}

export function postsCte(b: BronzeSql): string {
  return `${latestCte('post_images', b.posts, ['id'])},
  posts AS (
    SELECT json_extract_string(j, '$.id') AS post_id, json_extract_string(j, '$.author_id') AS author_id,
           json_extract_string(j, '$.tags[0]') AS topic
    FROM post_images
  )`;
}

export function followsCte(b: BronzeSql): string {
  return `${latestCte('follow_images', b.follows, ['follower_id', 'followee_id'])},
  follows AS (
    SELECT json_extract_string(j, '$.follower_id') AS follower_id, json_extract_string(j, '$.followee_id') AS followee_id
    FROM follow_images WHERE json_extract_string(j, '$.follower_id') <> json_extract_string(j, '$.followee_id')
  )`;
}

export function usersCte(b: BronzeSql): string {
  return `${latestCte('user_images', b.users, ['id'])},
  users AS (SELECT json_extract_string(j, '$.id') AS user_id, json_extract_string(j, '$.handle') AS handle FROM user_images)`;
}

/** Rows of silver/activity. */
export const dedupedActivity = (b: BronzeSql) =>
  `WITH ${activityCte(b)} SELECT count(*) AS events, count(DISTINCT event_id) AS ids FROM act`;

/** gold/active_users: DAU, 7-day WAU and 30-day MAU ending each day. */
export const activeUsers = (b: BronzeSql) => `
  WITH ${activityCte(b)},
  user_days AS (SELECT DISTINCT user_id, event_date FROM act),
  days AS (SELECT CAST(unnest(generate_series(min(event_date), max(event_date), INTERVAL 1 DAY)) AS DATE) AS activity_date FROM user_days)
  SELECT d.activity_date,
         count(DISTINCT u.user_id) FILTER (WHERE u.event_date = d.activity_date) AS dau,
         count(DISTINCT u.user_id) FILTER (WHERE u.event_date > d.activity_date - 7) AS wau,
         count(DISTINCT u.user_id) AS mau
  FROM days d JOIN user_days u ON u.event_date BETWEEN d.activity_date - 29 AND d.activity_date
  GROUP BY d.activity_date ORDER BY d.activity_date`;

/** gold/retention_cohorts: weekly cohorts by first active ISO week. */
export const retention = (b: BronzeSql) => `
  WITH ${activityCte(b)},
  weeks AS (SELECT DISTINCT user_id, CAST(date_trunc('week', event_date) AS DATE) AS week FROM act),
  cohorts AS (SELECT user_id, min(week) AS cohort_week FROM weeks GROUP BY user_id)
  SELECT c.cohort_week, CAST((w.week - c.cohort_week) / 7 AS INTEGER) AS week_offset, count(*) AS active_users,
         count(*) / any_value(sizes.n) AS retention
  FROM weeks w JOIN cohorts c USING (user_id)
  JOIN (SELECT cohort_week, count(*) AS n FROM cohorts GROUP BY cohort_week) sizes USING (cohort_week)
  GROUP BY 1, 2 ORDER BY 1, 2`;

/** gold/topic_engagement: engagement with posts per day and topic (tags[0]). */
export const topicEngagement = (b: BronzeSql) => `
  WITH ${activityCte(b)}, ${postsCte(b)}
  SELECT a.event_date, CASE WHEN p.post_id IS NULL THEN '(unknown)' ELSE coalesce(p.topic, '(none)') END AS topic,
         count(*) FILTER (WHERE a.type = 'IMPRESSION') AS impressions,
         count(*) FILTER (WHERE a.type = 'CLICK') AS clicks,
         count(*) FILTER (WHERE a.type = 'LIKE') AS likes,
         count(DISTINCT a.user_id) AS users
  FROM act a LEFT JOIN posts p ON p.post_id = a.target_id
  WHERE a.target_type = 'POST'
  GROUP BY 1, 2 ORDER BY 1, 2`;

/** gold/creator_stats: per author, posts, followers and what their posts received. */
export const creatorStats = (b: BronzeSql) => `
  WITH ${activityCte(b)}, ${postsCte(b)}, ${followsCte(b)}, ${usersCte(b)}
  SELECT w.author_id AS creator_id, u.handle, w.posts,
         (SELECT count(*) FROM follows f WHERE f.followee_id = w.author_id) AS followers,
         count(a.event_id) FILTER (WHERE a.type = 'IMPRESSION') AS impressions,
         count(a.event_id) FILTER (WHERE a.type = 'LIKE') AS likes,
         count(DISTINCT a.user_id) FILTER (WHERE a.type IN ('LIKE', 'COMMENT', 'SHARE')) AS engaged_users
  FROM (SELECT author_id, count(*) AS posts FROM posts GROUP BY author_id) w
  LEFT JOIN posts p ON p.author_id = w.author_id
  LEFT JOIN act a ON a.target_type = 'POST' AND a.target_id = p.post_id
  LEFT JOIN users u ON u.user_id = w.author_id
  GROUP BY w.author_id, u.handle, w.posts ORDER BY creator_id`;

/** gold/engagement_funnel: (user, post) pairs impressed → clicked after → liked after the click, per day and surface. */
export const funnel = (b: BronzeSql) => `
  WITH ${activityCte(b)},
  e AS (SELECT * FROM act WHERE target_type = 'POST'),
  pairs AS (
    SELECT i.event_date, i.user_id, i.target_id, min(i.occurred_at) AS impressed_at, bool_or(i.recommendation_id IS NOT NULL) AS recommended
    FROM e i WHERE i.type = 'IMPRESSION' GROUP BY 1, 2, 3
  ),
  steps AS (
    SELECT p.*, (SELECT min(c.occurred_at) FROM e c WHERE c.type = 'CLICK' AND c.event_date = p.event_date AND c.user_id = p.user_id
                   AND c.target_id = p.target_id AND c.occurred_at >= p.impressed_at) AS clicked_at
    FROM pairs p
  )
  SELECT event_date, CASE WHEN recommended THEN 'recommended' ELSE 'organic' END AS surface,
         count(*) AS impressed, count(clicked_at) AS clicked,
         count(*) FILTER (WHERE EXISTS (SELECT 1 FROM e l WHERE l.type = 'LIKE' AND l.event_date = s.event_date AND l.user_id = s.user_id
                                        AND l.target_id = s.target_id AND l.occurred_at >= s.clicked_at)) AS liked
  FROM steps s GROUP BY 1, 2 ORDER BY 1, 2`;

/** silver/activity_sessions: sessions per user with a 30-minute gap, counted. */
export const sessions = (b: BronzeSql, gapMinutes = 30) => `
  WITH ${activityCte(b)},
  marked AS (
    SELECT user_id, occurred_at,
           CASE WHEN lag(occurred_at) OVER w IS NULL OR occurred_at - lag(occurred_at) OVER w > INTERVAL ${gapMinutes} MINUTE THEN 1 ELSE 0 END AS starts
    FROM act WINDOW w AS (PARTITION BY user_id ORDER BY occurred_at, event_id)
  )
  SELECT count(*) FILTER (WHERE starts = 1) AS sessions, count(*) AS events FROM marked`;
