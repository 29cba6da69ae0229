import { GOLD_COMMUNITIES } from './graph.jobs';
import { intParameter, type JobDefinition } from './job-definition';
import { SILVER_ACTIVITY, SILVER_BLOCKS, SILVER_FOLLOWS } from './silver.jobs';

export const GOLD_PYMK = 'gold/pymk';

/**
 * People you may know: friends of friends (LinkedIn's PYMK) through a circle of trust (Twitter's WTF): for
 * user u, the circle is u's followees (mutual ones first, then the most recent, at most circle_size); each
 * circle member w contributes the users w follows (their fanout most recent, so a hub does not flood
 * everyone's list); a candidate c is reached through `common` distinct members. Candidates u already follows,
 * u itself and users blocked either way (u blocked c, or c blocked u) are left out. Score = common connections
 * + 0.5 if u and c share a community (gold/communities) + 0.5 × the share of the last activity_days (up to the
 * latest day of activity) on which c was active; the top max_candidates per user are kept.
 * Common connections dominate; community and activity order candidates with equal counts and lift a
 * candidate one connection short of the next.
 */
export const pymk: JobDefinition = {
  name: 'pymk',
  description:
    'People you may know: friends of friends through a circle of trust, ranked by common connections, then same community and recent activity; existing follows, blocks either way and the user excluded. Pushed to the feature store (user_pymk).',
  layer: 'gold',
  inputs: [SILVER_FOLLOWS, GOLD_COMMUNITIES, SILVER_ACTIVITY, SILVER_BLOCKS],
  output: { path: GOLD_PYMK, partitionBy: [], description: 'one candidate of one user, rank 1 first' },
  schedule: '45 3 * * *',
  parameters: [
    intParameter('max_candidates', 20, 1, 200, 'candidates kept per user'),
    intParameter('circle_size', 100, 1, 5000, "followees per user in the user's circle of trust"),
    intParameter('fanout', 200, 1, 10000, 'followees per circle member a user can reach through them'),
    intParameter('activity_days', 28, 1, 365, 'days of activity counted for the activity score'),
  ],
  build: async (ctx) => {
    const p = (name: string) => Number(ctx.params[name]);
    await ctx.stage('follows', `SELECT follower_id AS u, followee_id AS v, created_at, mutual FROM ${ctx.input(SILVER_FOLLOWS)}`);
    ctx.phase('friends of friends');
    await ctx.stage(
      'reached',
      `WITH circle AS (
         SELECT u, v AS w FROM (
           SELECT u, v, row_number() OVER (PARTITION BY u ORDER BY mutual DESC, created_at DESC NULLS LAST, v) AS k FROM follows
         ) WHERE k <= ${p('circle_size')}
       ),
       reach AS (
         SELECT u AS w, v AS c FROM (
           SELECT u, v, row_number() OVER (PARTITION BY u ORDER BY created_at DESC NULLS LAST, v) AS k FROM follows
         ) WHERE k <= ${p('fanout')}
       )
       SELECT ci.u, r.c, count(*) AS common
       FROM circle ci JOIN reach r ON r.w = ci.w
       WHERE r.c <> ci.u
       GROUP BY ci.u, r.c`,
    );
    ctx.phase('scoring');
    return `
      WITH candidates AS (
        SELECT x.* FROM reached x
        LEFT ANTI JOIN follows f ON f.u = x.u AND f.v = x.c
        LEFT ANTI JOIN ${ctx.input(SILVER_BLOCKS)} b ON b.blocker_id = x.u AND b.blocked_id = x.c
        LEFT ANTI JOIN ${ctx.input(SILVER_BLOCKS)} back ON back.blocker_id = x.c AND back.blocked_id = x.u
      ),
      recent AS (
        SELECT user_id, count(DISTINCT event_date) AS active_days
        FROM ${ctx.input(SILVER_ACTIVITY)}
        WHERE event_date > date_sub((SELECT max(event_date) FROM ${ctx.input(SILVER_ACTIVITY)}), ${p('activity_days')})
        GROUP BY user_id
      ),
      scored AS (
        SELECT c.u AS user_id, c.c AS candidate_id, c.common AS common_connections,
               coalesce(cu.community_id = cc.community_id, false) AS same_community,
               coalesce(a.active_days, 0) AS candidate_active_days,
               c.common
                 + CASE WHEN cu.community_id = cc.community_id THEN 0.5D ELSE 0D END
                 + 0.5D * coalesce(a.active_days, 0) / ${p('activity_days')} AS score
        FROM candidates c
        LEFT JOIN ${ctx.input(GOLD_COMMUNITIES)} cu ON cu.user_id = c.u
        LEFT JOIN ${ctx.input(GOLD_COMMUNITIES)} cc ON cc.user_id = c.c
        LEFT JOIN recent a ON a.user_id = c.c
      )
      SELECT user_id, rank, candidate_id, score, common_connections, same_community, candidate_active_days FROM (
        SELECT *, CAST(row_number() OVER (PARTITION BY user_id ORDER BY score DESC, common_connections DESC, candidate_id) AS INT) AS rank
        FROM scored
      ) WHERE rank <= ${p('max_candidates')}`;
  },
  export: {
    featureView: 'user_pymk',
    joinKey: 'user_id',
    sql: (output) => `
      SELECT user_id,
             transform(array_sort(collect_list(struct(rank, candidate_id, score, common_connections))), x -> x.candidate_id) AS candidates,
             transform(array_sort(collect_list(struct(rank, candidate_id, score, common_connections))), x -> x.score) AS scores,
             transform(array_sort(collect_list(struct(rank, candidate_id, score, common_connections))), x -> x.common_connections) AS common
      FROM ${output}
      GROUP BY user_id`,
    features: (row) => ({
      candidates: { stringListValue: { values: row['candidates'] as string[] } },
      scores: { doubleListValue: { values: row['scores'] as number[] } },
      common_connections: { int64ListValue: { values: (row['common'] as (number | bigint)[]).map(Number) } },
    }),
  },
};
