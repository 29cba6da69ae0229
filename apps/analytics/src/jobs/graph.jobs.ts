import { intParameter, numberParameter, type JobContext, type JobDefinition } from './job-definition';
import { SILVER_FOLLOWS } from './silver.jobs';

/**
 * Graph analytics over the follow graph at its latest state (silver/follows): follower, following and
 * mutual-follow counts, PageRank, and communities by label propagation. The iterative algorithms are
 * written as SQL over a session's staged (checkpointed) steps, the shape of GraphFrames' Pregel loops,
 * because GraphX and GraphFrames are JVM APIs that Spark Connect does not carry.
 */

export const GOLD_FOLLOW_COUNTS = 'gold/follow_counts';
export const GOLD_PAGERANK = 'gold/pagerank';
export const GOLD_COMMUNITIES = 'gold/communities';

export const followCounts: JobDefinition = {
  name: 'follow_counts',
  description: 'Per user of the follow graph: followers, following, and mutual follows (users they follow who follow them back).',
  layer: 'gold',
  inputs: [SILVER_FOLLOWS],
  output: { path: GOLD_FOLLOW_COUNTS, partitionBy: [], description: 'one user with at least one follow edge' },
  schedule: '20 * * * *',
  build: async (ctx) => `
    WITH f AS (SELECT follower_id, followee_id, mutual FROM ${ctx.input(SILVER_FOLLOWS)}),
    outgoing AS (SELECT follower_id AS user_id, count(*) AS following, count_if(mutual) AS mutual_follows FROM f GROUP BY follower_id),
    incoming AS (SELECT followee_id AS user_id, count(*) AS followers FROM f GROUP BY followee_id)
    SELECT user_id, coalesce(i.followers, 0) AS followers, coalesce(o.following, 0) AS following,
           coalesce(o.mutual_follows, 0) AS mutual_follows
    FROM outgoing o FULL OUTER JOIN incoming i USING (user_id)`,
};

/** Stages `nodes` (id, out_degree) and `edges` (src, dst, weight = 1 / out_degree of src); returns the node count. */
async function stageDirectedGraph(ctx: JobContext): Promise<number> {
  await ctx.stage(
    'edges',
    `WITH e AS (SELECT DISTINCT follower_id AS src, followee_id AS dst FROM ${ctx.input(SILVER_FOLLOWS)} WHERE follower_id <> followee_id)
     SELECT src, dst, 1.0D / count(*) OVER (PARTITION BY src) AS weight FROM e`,
  );
  await ctx.stage(
    'nodes',
    `SELECT id, coalesce(max(out_degree), 0) AS out_degree, coalesce(max(in_degree), 0) AS in_degree FROM (
       SELECT src AS id, count(*) AS out_degree, NULL AS in_degree FROM edges GROUP BY src
       UNION ALL
       SELECT dst AS id, NULL AS out_degree, count(*) AS in_degree FROM edges GROUP BY dst
     ) GROUP BY id`,
  );
  const [row] = await ctx.query('SELECT count(*) AS n FROM nodes');
  return Number(row?.['n'] ?? 0);
}

export const pagerank: JobDefinition = {
  name: 'pagerank',
  description:
    'PageRank of every user of the follow graph (edges follower → followee), as NetworkX computes it: damping alpha, start 1/N, the rank of users who follow no one spread evenly, iterations until the L1 change is below N × tolerance (or max_iterations); ranks sum to 1.',
  layer: 'gold',
  inputs: [SILVER_FOLLOWS],
  output: { path: GOLD_PAGERANK, partitionBy: [], description: 'one user with at least one follow edge', orderBy: 'pagerank_rank' },
  schedule: '0 3 * * *',
  parameters: [
    numberParameter('alpha', 0.85, 0.01, 0.99, 'damping factor'),
    intParameter('max_iterations', 50, 1, 500, 'most power iterations'),
    numberParameter('tolerance', 1e-6, 0, 1, 'convergence: stop when the L1 change of the ranks is below N times this'),
  ],
  build: async (ctx) => {
    const alpha = Number(ctx.params['alpha']);
    const maxIterations = Number(ctx.params['max_iterations']);
    const tolerance = Number(ctx.params['tolerance']);
    const n = await stageDirectedGraph(ctx);
    if (n === 0)
      return `SELECT CAST(NULL AS STRING) AS user_id, 0.0D AS pagerank, 0 AS pagerank_rank, 0L AS followers, 0L AS following WHERE false`;
    // Two staged rank tables, each step built from the other (staging a name again frees its old rows).
    let ranks = 'ranks_a';
    await ctx.stage(ranks, `SELECT id, 1.0D / ${n} AS rank FROM nodes`);
    for (let i = 1; i <= maxIterations; i++) {
      ctx.phase(`power iteration ${i} (at most ${maxIterations})`);
      const next = ranks === 'ranks_a' ? 'ranks_b' : 'ranks_a';
      await ctx.stage(
        next,
        `WITH dangling AS (
           SELECT coalesce(sum(r.rank), 0D) AS mass FROM ${ranks} r JOIN nodes v ON v.id = r.id WHERE v.out_degree = 0
         ),
         received AS (
           SELECT e.dst AS id, sum(r.rank * e.weight) AS rank FROM edges e JOIN ${ranks} r ON r.id = e.src GROUP BY e.dst
         )
         SELECT v.id, ${1 - alpha}D / ${n} + ${alpha}D * (coalesce(x.rank, 0D) + d.mass / ${n}) AS rank
         FROM nodes v LEFT JOIN received x ON x.id = v.id CROSS JOIN dangling d`,
      );
      const [delta] = await ctx.query(`SELECT sum(abs(a.rank - b.rank)) AS err FROM ${next} a JOIN ${ranks} b ON a.id = b.id`);
      ranks = next;
      if (Number(delta?.['err'] ?? 0) < n * tolerance) break;
    }
    return `
      SELECT v.id AS user_id, r.rank AS pagerank,
             CAST(row_number() OVER (ORDER BY r.rank DESC, v.id) AS INT) AS pagerank_rank,
             v.in_degree AS followers, v.out_degree AS following
      FROM nodes v JOIN ${ranks} r ON r.id = v.id`;
  },
};

export const communities: JobDefinition = {
  name: 'communities',
  description:
    'Communities by label propagation over the follow graph taken as undirected: every user starts with their own label; in each round a user whose label is not among the most frequent of their neighbours would take the smallest of those, and about half of them (by a hash of id and round) do, so that neighbours do not swap labels forever; it ends when every label is among the most frequent of its neighbours (or after max_iterations).',
  layer: 'gold',
  inputs: [SILVER_FOLLOWS],
  output: { path: GOLD_COMMUNITIES, partitionBy: [], description: 'one user with at least one follow edge' },
  schedule: '15 3 * * *',
  parameters: [intParameter('max_iterations', 30, 1, 500, 'most propagation rounds')],
  build: async (ctx) => {
    const maxIterations = Number(ctx.params['max_iterations']);
    await ctx.stage(
      'links',
      `SELECT DISTINCT a, b FROM (
         SELECT follower_id AS a, followee_id AS b FROM ${ctx.input(SILVER_FOLLOWS)}
         UNION ALL
         SELECT followee_id AS a, follower_id AS b FROM ${ctx.input(SILVER_FOLLOWS)}
       ) WHERE a <> b`,
    );
    let labels = 'labels_a';
    await ctx.stage(labels, 'SELECT DISTINCT a AS id, a AS label FROM links');
    for (let round = 1; round <= maxIterations; round++) {
      ctx.phase(`propagation round ${round} (at most ${maxIterations})`);
      const next = labels === 'labels_a' ? 'labels_b' : 'labels_a';
      await ctx.stage(
        next,
        `WITH votes AS (
           SELECT k.a AS id, l.label, count(*) AS n FROM links k JOIN ${labels} l ON l.id = k.b GROUP BY k.a, l.label
         ),
         ranked AS (
           SELECT v.id, v.label, v.n, max(v.n) OVER (PARTITION BY v.id) AS top, cur.label AS current
           FROM votes v JOIN ${labels} cur ON cur.id = v.id
         ),
         chosen AS (
           SELECT id, CASE WHEN max(label = current) THEN max(current) ELSE min(label) END AS label
           FROM ranked WHERE n = top GROUP BY id
         )
         SELECT l.id,
                CASE WHEN pmod(hash(l.id, ${round}), 2) = 0 THEN coalesce(c.label, l.label) ELSE l.label END AS label,
                coalesce(c.label, l.label) <> l.label AS unstable
         FROM ${labels} l LEFT JOIN chosen c ON c.id = l.id`,
      );
      const [left] = await ctx.query(`SELECT count_if(unstable) AS unstable FROM ${next}`);
      labels = next;
      if (Number(left?.['unstable'] ?? 0) === 0) break;
    }
    return `
      SELECT id AS user_id, label AS community_id, count(*) OVER (PARTITION BY label) AS community_size
      FROM ${labels}`;
  },
};

export const GRAPH_JOBS: readonly JobDefinition[] = [followCounts, pagerank, communities];
