import type { JobDefinition } from './job-definition';
import { SILVER_ACTIVITY, SILVER_FOLLOWS, SILVER_POSTS, SILVER_USERS } from './silver.jobs';

/**
 * Gold insights over silver activity (an active user is one with any tracked event that day, UTC):
 * active users, weekly retention cohorts, engagement per topic, creator stats and the
 * impression → click → like funnel.
 */

export const GOLD_ACTIVE_USERS = 'gold/active_users';
export const GOLD_RETENTION = 'gold/retention_cohorts';
export const GOLD_TOPIC_ENGAGEMENT = 'gold/topic_engagement';
export const GOLD_CREATOR_STATS = 'gold/creator_stats';
export const GOLD_FUNNEL = 'gold/engagement_funnel';

export const activeUsers: JobDefinition = {
  name: 'active_users',
  description:
    'Daily, weekly and monthly active users for every day of the activity: DAU that day, WAU over the 7 days and MAU over the 30 days ending that day (rolling).',
  layer: 'gold',
  inputs: [SILVER_ACTIVITY],
  output: { path: GOLD_ACTIVE_USERS, partitionBy: [], description: 'one day', orderBy: 'activity_date DESC' },
  schedule: '30 * * * *',
  build: async (ctx) => {
    await ctx.stage('user_days', `SELECT DISTINCT user_id, event_date FROM ${ctx.input(SILVER_ACTIVITY)}`);
    // A user active on day e counts in the WAU of days e..e+6 and the MAU of days e..e+29. Each active day claims
    // only the days the user's previous active day has not, so a user's claimed days are distinct and a count(*)
    // per day is the count of distinct users: at most ~60 rows a user. Joining every user-day to the 30 days whose
    // window holds it and counting distinct users three ways took 13 minutes of local Spark on 50 M events
    // (tools/bench/analytics).
    const claimed = (span: number) => `
      SELECT activity_date, count(*) AS users FROM (
        SELECT explode(sequence(greatest(event_date, coalesce(date_add(previous, ${span}), event_date)), date_add(event_date, ${span - 1}))) AS activity_date
        FROM spans
      ) GROUP BY activity_date`;
    return `
      WITH spans AS (SELECT event_date, lag(event_date) OVER (PARTITION BY user_id ORDER BY event_date) AS previous FROM user_days),
      bounds AS (SELECT min(event_date) AS first_day, max(event_date) AS last_day FROM user_days),
      daily AS (SELECT event_date AS activity_date, count(*) AS users FROM user_days GROUP BY event_date),
      weekly AS (${claimed(7)}),
      monthly AS (${claimed(30)})
      SELECT m.activity_date,
             coalesce(d.users, 0) AS dau,
             coalesce(w.users, 0) AS wau,
             m.users AS mau,
             try_divide(coalesce(d.users, 0), m.users) AS stickiness
      FROM monthly m
      CROSS JOIN bounds b
      LEFT JOIN weekly w ON w.activity_date = m.activity_date
      LEFT JOIN daily d ON d.activity_date = m.activity_date
      WHERE m.activity_date BETWEEN b.first_day AND b.last_day`;
  },
};

export const retentionCohorts: JobDefinition = {
  name: 'retention_cohorts',
  description:
    'Weekly retention: users grouped by the ISO week (Monday) of their first activity, and how many of each cohort were active N weeks later.',
  layer: 'gold',
  inputs: [SILVER_ACTIVITY],
  output: {
    path: GOLD_RETENTION,
    partitionBy: [],
    description: 'one cohort week and week offset',
    orderBy: 'cohort_week DESC, week_offset',
  },
  schedule: '30 2 * * *',
  build: async (ctx) => `
    WITH weeks AS (
      SELECT DISTINCT user_id, to_date(date_trunc('WEEK', event_date)) AS week FROM ${ctx.input(SILVER_ACTIVITY)}
    ),
    cohorts AS (SELECT user_id, min(week) AS cohort_week FROM weeks GROUP BY user_id),
    sizes AS (SELECT cohort_week, count(*) AS cohort_size FROM cohorts GROUP BY cohort_week)
    SELECT c.cohort_week,
           CAST(datediff(w.week, c.cohort_week) / 7 AS INT) AS week_offset,
           s.cohort_size,
           count(*) AS active_users,
           count(*) / s.cohort_size AS retention
    FROM weeks w
    JOIN cohorts c USING (user_id)
    JOIN sizes s USING (cohort_week)
    GROUP BY c.cohort_week, w.week, s.cohort_size`,
};

const ENGAGEMENT_COUNTS = `
  count_if(a.type = 'IMPRESSION') AS impressions,
  count_if(a.type = 'VIEW') AS views,
  count_if(a.type = 'CLICK') AS clicks,
  count_if(a.type = 'LIKE') AS likes,
  count_if(a.type = 'COMMENT') AS comments,
  count_if(a.type = 'SHARE') AS shares,
  count_if(a.type = 'BOOKMARK') AS bookmarks,
  count_if(a.type = 'HIDE') AS hides`;

export const topicEngagement: JobDefinition = {
  name: 'topic_engagement',
  description:
    "Engagement with posts per day and topic (a post's first tag, its topic cluster; `(unknown)` for posts not in silver/posts, `(none)` without tags).",
  layer: 'gold',
  inputs: [SILVER_ACTIVITY, SILVER_POSTS],
  output: {
    path: GOLD_TOPIC_ENGAGEMENT,
    partitionBy: ['event_date'],
    description: 'one day and topic',
    orderBy: 'event_date DESC, users DESC',
  },
  schedule: '35 * * * *',
  build: async (ctx) => `
    SELECT a.event_date,
           CASE WHEN p.post_id IS NULL THEN '(unknown)' ELSE coalesce(p.topic, '(none)') END AS topic,
           ${ENGAGEMENT_COUNTS},
           count(DISTINCT a.user_id) AS users,
           count(DISTINCT a.target_id) AS posts,
           try_divide(count_if(a.type = 'CLICK'), count_if(a.type = 'IMPRESSION')) AS ctr,
           try_divide(count_if(a.type IN ('LIKE', 'COMMENT', 'SHARE')), count_if(a.type = 'IMPRESSION')) AS engagement_rate
    FROM ${ctx.input(SILVER_ACTIVITY)} a
    LEFT JOIN ${ctx.input(SILVER_POSTS)} p ON p.post_id = a.target_id
    WHERE a.target_type = 'POST'
    GROUP BY 1, 2`,
};

export const creatorStats: JobDefinition = {
  name: 'creator_stats',
  description:
    'Per author of at least one post: posts, followers, what their posts received (impressions, views, likes, comments, shares), distinct engaged users and engagement rate.',
  layer: 'gold',
  inputs: [SILVER_ACTIVITY, SILVER_POSTS, SILVER_FOLLOWS, SILVER_USERS],
  output: { path: GOLD_CREATOR_STATS, partitionBy: [], description: 'one creator', orderBy: 'engaged_users DESC, creator_id' },
  schedule: '40 * * * *',
  build: async (ctx) => `
    WITH authored AS (
      SELECT author_id, count(*) AS posts, max(created_at) AS last_post_at FROM ${ctx.input(SILVER_POSTS)} GROUP BY author_id
    ),
    received AS (
      SELECT p.author_id, ${ENGAGEMENT_COUNTS},
             count(DISTINCT CASE WHEN a.type IN ('LIKE', 'COMMENT', 'SHARE') THEN a.user_id END) AS engaged_users
      FROM ${ctx.input(SILVER_ACTIVITY)} a
      JOIN ${ctx.input(SILVER_POSTS)} p ON a.target_type = 'POST' AND p.post_id = a.target_id
      GROUP BY p.author_id
    ),
    audience AS (SELECT followee_id AS author_id, count(*) AS followers FROM ${ctx.input(SILVER_FOLLOWS)} GROUP BY followee_id)
    SELECT w.author_id AS creator_id, u.handle, w.posts, w.last_post_at,
           coalesce(f.followers, 0) AS followers,
           coalesce(r.impressions, 0) AS impressions, coalesce(r.views, 0) AS views, coalesce(r.likes, 0) AS likes,
           coalesce(r.comments, 0) AS comments, coalesce(r.shares, 0) AS shares,
           coalesce(r.engaged_users, 0) AS engaged_users,
           try_divide(coalesce(r.likes, 0) + coalesce(r.comments, 0) + coalesce(r.shares, 0), r.impressions) AS engagement_rate
    FROM authored w
    LEFT JOIN received r USING (author_id)
    LEFT JOIN audience f USING (author_id)
    LEFT JOIN ${ctx.input(SILVER_USERS)} u ON u.user_id = w.author_id`,
};

export const engagementFunnel: JobDefinition = {
  name: 'engagement_funnel',
  description:
    'The impression → click → like funnel per day and surface: (user, post) pairs impressed that day, of them clicked at or after the first impression, of those liked at or after the first such click; surface is `recommended` when an impression carried a recommendation_id, else `organic`.',
  layer: 'gold',
  inputs: [SILVER_ACTIVITY],
  output: { path: GOLD_FUNNEL, partitionBy: ['event_date'], description: 'one day and surface', orderBy: 'event_date DESC, surface' },
  schedule: '45 * * * *',
  build: async (ctx) => {
    await ctx.stage(
      'post_events',
      `SELECT event_date, user_id, target_id, type, occurred_at, recommendation_id
       FROM ${ctx.input(SILVER_ACTIVITY)}
       WHERE target_type = 'POST' AND type IN ('IMPRESSION', 'CLICK', 'LIKE')`,
    );
    return `
      WITH impressed AS (
        SELECT event_date, user_id, target_id, min(occurred_at) AS impressed_at,
               max(recommendation_id IS NOT NULL) AS recommended
        FROM post_events WHERE type = 'IMPRESSION'
        GROUP BY event_date, user_id, target_id
      ),
      clicked AS (
        SELECT i.event_date, i.user_id, i.target_id, min(c.occurred_at) AS clicked_at
        FROM impressed i
        JOIN post_events c ON c.type = 'CLICK' AND c.event_date = i.event_date AND c.user_id = i.user_id
                           AND c.target_id = i.target_id AND c.occurred_at >= i.impressed_at
        GROUP BY i.event_date, i.user_id, i.target_id
      ),
      liked AS (
        SELECT DISTINCT k.event_date, k.user_id, k.target_id, true AS liked
        FROM clicked k
        JOIN post_events l ON l.type = 'LIKE' AND l.event_date = k.event_date AND l.user_id = k.user_id
                           AND l.target_id = k.target_id AND l.occurred_at >= k.clicked_at
      )
      SELECT i.event_date, CASE WHEN i.recommended THEN 'recommended' ELSE 'organic' END AS surface,
             count(*) AS impressed, count(k.clicked_at) AS clicked, count(l.liked) AS liked,
             try_divide(count(k.clicked_at), count(*)) AS click_rate,
             try_divide(count(l.liked), count(k.clicked_at)) AS like_rate
      FROM impressed i
      LEFT JOIN clicked k USING (event_date, user_id, target_id)
      LEFT JOIN liked l USING (event_date, user_id, target_id)
      GROUP BY 1, 2`;
  },
};

export const INSIGHT_JOBS: readonly JobDefinition[] = [activeUsers, retentionCohorts, topicEngagement, creatorStats, engagementFunnel];
