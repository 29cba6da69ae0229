import { LakeEngine } from '@pulse/lake';
import { createLogger, type ServiceMetrics } from '@pulse/platform';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { Peers, PostEngagement } from '../candidates/peers';
import { RecommendPipeline } from '../candidates/recommend-pipeline';
import { ItemSet } from '../candidates/item-set';
import { ScoringThreads } from '../candidates/scoring-threads';
import type { TrendingList, TrendingSource } from '../candidates/trending.source';
import type { CatalogPost, PostCatalogRepository } from '../catalog/post-catalog.redis.repository';
import type { RecommenderConfig } from '../config/recommender.config';
import { userItems } from '../data/interactions';
import { readLakeInteractions } from '../data/lake-interactions';
import type { RecentAction, UserLiveState, UserStateRepository } from '../live/user-state.redis.repository';
import { trainingData } from '../models/model';
import type { NcfConfig } from '../models/ncf.config';
import { type LoadedModel, ModelRegistry } from '../registry/model-registry';
import type { LakeActivity } from '../testing/synthetic-lake';
import { appendActivity, appendPostChanges } from '../testing/synthetic-lake';
import type { SyntheticPlatform } from '../testing/synthetic-platform';
import { type ModelSpec, specLabel, trainModel } from './experiment';
import { listMetrics, topK } from './metrics';

const HOUR_MS = 3_600_000;
/** Action types the live state counts as seen (UserStateRepository), and those that say the user liked a post. */
const SEEN_TYPES = new Set(['VIEW', 'CLICK', 'LIKE', 'COMMENT', 'SHARE', 'BOOKMARK', 'HIDE']);
const POSITIVE_TYPES = new Set(['VIEW', 'CLICK', 'LIKE', 'COMMENT', 'SHARE', 'BOOKMARK']);
/** What etl's post_engagement_1h sums as engagements (apps/etl/src/aggregates/aggregate-definitions.ts). */
const ENGAGEMENT_TYPES = new Set(['LIKE', 'COMMENT', 'SHARE', 'BOOKMARK']);
/** The trending list keeps this many posts (TrendingSource). */
const TRENDING_KEPT = 100;

/** The ways a test user's list is made, compared on the same users. */
export const LOOP_VARIANTS = ['itempop', 'model', 'loop', 'loop_without_fresh_actions', 'loop_without_following'] as const;
export type LoopVariant = (typeof LOOP_VARIANTS)[number];

export interface LoopEvaluationOptions {
  /** The trained model, e.g. gmf (fold-in needs a model linear in the user vector: mf or gmf). */
  spec: ModelSpec;
  settings: Partial<NcfConfig>;
  /** Train on what happened before this time; test on what each user did after it. */
  splitAtMs: number;
  /** Posts a test user engages with after the split before their test post: their fresh actions. */
  freshActions: number;
  /** Fresh actions older than this before the test post are not used. */
  freshWindowMs: number;
  k: number;
  /** The lake and the registry of the run are written here. */
  workDir: string;
  /** The serving settings the pipeline runs with (ranking weights, fold-in, windows, action weights). */
  config: RecommenderConfig;
  /** Decay of the lake training (`recs train --source lake --half-life`). */
  halfLifeMs: number;
  log?: (line: string) => void;
}

export interface VariantMetrics {
  hr_at_10: number;
  ndcg_at_10: number;
}

export interface LoopEvaluation {
  k: number;
  model: string;
  split_at: string;
  /** Users with a test post, and how many of them the model never saw (they joined after the split). */
  test_users: number;
  test_users_unknown_to_model: number;
  /** Test posts written after the split: no model trained before it can recommend them. */
  test_posts_newer_than_model: number;
  fresh_actions_per_user: number;
  training: { positives: number; users: number; posts: number };
  world: { users: number; posts: number; follows: number; events: number };
  results: Record<LoopVariant, VariantMetrics>;
}

/** One held-out request: the user, when they asked, what they engaged with next, and their actions since the split. */
interface TestCase {
  userId: string;
  atMs: number;
  postId: string;
  /** Newest first. */
  fresh: RecentAction[];
}

/**
 * The test cases of a temporal split: for each user, the (freshActions + 1)-th distinct post they engaged with
 * after the split is the one to predict, at the time they engaged with it; their actions after the split
 * before it (within the window) are the fresh actions, which the model did not see in training.
 */
export function loopTestCases(
  activity: readonly LakeActivity[],
  splitAtMs: number,
  freshActions: number,
  freshWindowMs: number,
): TestCase[] {
  const before = new Map<string, Set<string>>();
  const after = new Map<string, LakeActivity[]>();
  for (const a of activity) {
    if (a.occurredAtMs < splitAtMs) {
      if (!before.has(a.userId)) before.set(a.userId, new Set());
      before.get(a.userId)?.add(a.targetId);
    } else {
      if (!after.has(a.userId)) after.set(a.userId, []);
      after.get(a.userId)?.push(a);
    }
  }
  const cases: TestCase[] = [];
  for (const [userId, events] of after) {
    events.sort((a, b) => a.occurredAtMs - b.occurredAtMs);
    const engaged: string[] = [];
    for (const e of events) {
      if (!POSITIVE_TYPES.has(e.type) || engaged.includes(e.targetId)) continue;
      engaged.push(e.targetId);
      if (engaged.length <= freshActions) continue;
      if (before.get(userId)?.has(e.targetId)) break;
      const fresh = events
        .filter((f) => f.occurredAtMs < e.occurredAtMs && f.occurredAtMs >= e.occurredAtMs - freshWindowMs)
        .reverse()
        .map((f): RecentAction => ({ target: 'POST', type: f.type, targetId: f.targetId, atMs: f.occurredAtMs }));
      cases.push({ userId, atMs: e.occurredAtMs, postId: e.targetId, fresh });
      break;
    }
  }
  return cases.sort((a, b) => a.atMs - b.atMs || a.userId.localeCompare(b.userId));
}

/**
 * The platform as the pipeline's ports see it at one moment: the post catalogue (posts written by then), the
 * follow graph (storage's ListFollowing), the last hour's engagement (the feature store's post_engagement_1h),
 * the trending list made from it, and the user's live state, all answered from the simulated platform.
 */
class SimulatedPlatformView {
  nowMs = 0;
  state: UserLiveState = { recent: [], seen: new Set(), hidden: new Set(), mutedAuthors: new Set() };
  following = true;
  private readonly posts = new Map<string, CatalogPost>();
  private readonly byAuthor = new Map<string, CatalogPost[]>();
  private readonly byTag = new Map<string, CatalogPost[]>();
  private readonly newestFirst: CatalogPost[];
  private engagementCache?: { at: number; map: Map<string, number> };

  constructor(
    private readonly world: SyntheticPlatform,
    private readonly trendingWindowMs: number,
  ) {
    for (const p of world.posts) {
      const post: CatalogPost = { id: p.id, authorId: p.authorId, tags: p.tags ?? [], createdAtMs: p.atMs, deleted: false };
      this.posts.set(post.id, post);
      const add = (index: Map<string, CatalogPost[]>, key: string) => (index.get(key) ?? index.set(key, []).get(key))?.push(post);
      add(this.byAuthor, post.authorId);
      for (const tag of post.tags) add(this.byTag, tag);
    }
    for (const list of [...this.byAuthor.values(), ...this.byTag.values()]) list.sort((a, b) => b.createdAtMs - a.createdAtMs);
    this.newestFirst = [...this.posts.values()].sort((a, b) => b.createdAtMs - a.createdAtMs);
    const list = () => this.trendingList();
    this.trending = {
      stale: false,
      get current() {
        return list();
      },
    };
  }

  private written(list: readonly CatalogPost[], sinceMs: number, limit: number): CatalogPost[] {
    return list.filter((p) => p.createdAtMs <= this.nowMs && p.createdAtMs >= sinceMs).slice(0, limit);
  }

  /** Engagements (likes, comments, shares, bookmarks) of each post in the hour before now. */
  private engagements(): Map<string, number> {
    if (this.engagementCache?.at === this.nowMs) return this.engagementCache.map;
    const map = new Map<string, number>();
    const activity = this.world.activity;
    let lo = 0;
    let hi = activity.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (activity[mid].occurredAtMs < this.nowMs - HOUR_MS) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < activity.length && activity[i].occurredAtMs < this.nowMs; i++) {
      const a = activity[i];
      if (ENGAGEMENT_TYPES.has(a.type)) map.set(a.targetId, (map.get(a.targetId) ?? 0) + 1);
    }
    this.engagementCache = { at: this.nowMs, map };
    return map;
  }

  readonly catalog: Pick<PostCatalogRepository, 'get' | 'recentByAuthors' | 'recentByTags'> = {
    get: async (ids) =>
      new Map(
        ids.flatMap((id) => ((this.posts.get(id)?.createdAtMs ?? Infinity) <= this.nowMs ? [[id, this.posts.get(id) as CatalogPost]] : [])),
      ),
    recentByAuthors: async (authorIds, sinceMs, perAuthor) =>
      authorIds.flatMap((a) => this.written(this.byAuthor.get(a) ?? [], sinceMs, perAuthor)),
    recentByTags: async (tags, sinceMs, perTag) =>
      tags.flatMap((tag) => this.written(this.byTag.get(tag) ?? [], sinceMs, perTag).map((p) => ({ ...p, tag }))),
  };

  readonly peers: Pick<Peers, 'following' | 'engagement' | 'blocked'> = {
    // The simulated platform of the evaluation has no blocks.
    blocked: async () => new Set<string>(),
    following: async (userId, limit) =>
      this.following
        ? this.world.follows
            .filter((f) => f.followerId === userId && f.atMs <= this.nowMs)
            .sort((a, b) => b.atMs - a.atMs)
            .slice(0, limit)
            .map((f) => f.followeeId)
        : [],
    engagement: async (postIds) => {
      const counts = this.engagements();
      const out = new Map<string, PostEngagement>();
      for (const id of postIds) {
        const n = counts.get(id);
        if (n) out.set(id, { engagements: n, ctr: 0 });
      }
      return out;
    },
  };

  readonly userState: Pick<UserStateRepository, 'read'> = { read: async () => this.state };

  /** TrendingSource's list as of now: the recent posts ranked by the last hour's engagements. */
  readonly trending: Pick<TrendingSource, 'current' | 'stale'>;

  trendingList(): TrendingList {
    const counts = this.engagements();
    const posts = this.written(this.newestFirst, this.nowMs - this.trendingWindowMs, Infinity)
      .flatMap((p) => {
        const n = counts.get(p.id);
        return n ? [{ id: p.id, createdAtMs: p.createdAtMs, engagement: { engagements: n, ctr: 0 } }] : [];
      })
      .sort((a, b) => b.engagement.engagements - a.engagement.engagements || b.createdAtMs - a.createdAtMs)
      .slice(0, TRENDING_KEPT);
    return { posts, computedAtMs: this.nowMs };
  }
}

/** The user's live state at `atMs` as the recommender's consumer would have kept it (seen, hidden, recent). */
function liveState(activity: readonly LakeActivity[], userId: string, untilMs: number, recent: RecentAction[]): UserLiveState {
  const seen = new Set<string>();
  const hidden = new Set<string>();
  for (const a of activity) {
    if (a.occurredAtMs >= untilMs) break;
    if (a.userId !== userId) continue;
    if (SEEN_TYPES.has(a.type)) seen.add(a.targetId);
    if (a.type === 'HIDE') hidden.add(a.targetId);
  }
  return { recent, seen, hidden, mutedAuthors: new Set() };
}

/**
 * Evaluates the loop on a temporal split of a simulated platform. The part before the split is written to a
 * lake in etl's bronze layout and read back as `recs train --source lake` reads it; the model is trained on it,
 * registered and loaded as serving loads it. Each test user then gets a top-k list from (a) ItemPop, (b) the
 * model alone (its trained user vector; popularity for a user it never saw, as serving answers them), (c) the
 * real Recommend pipeline with its ports answered from the platform as it was at the request (fold-in of the
 * fresh actions, followed accounts' posts, tag-matched posts, trending, the ranker and the filters), and the
 * pipeline without the fresh actions or without the follow graph. HR@k and NDCG@k against the post the user
 * engaged with next.
 */
export async function evaluateLoop(world: SyntheticPlatform, options: LoopEvaluationOptions): Promise<LoopEvaluation> {
  const log = options.log ?? (() => undefined);
  const lakeRoot = join(options.workDir, 'lake');
  await appendPostChanges(
    lakeRoot,
    'public',
    world.posts.filter((p) => p.atMs < options.splitAtMs),
  );
  await appendActivity(
    lakeRoot,
    world.activity.filter((a) => a.occurredAtMs < options.splitAtMs),
  );
  const engine = await LakeEngine.create({ tempDirectory: join(options.workDir, 'duckdb') });
  const lake = await (async () => {
    try {
      return await readLakeInteractions(
        { lakeRoot, cdcSchema: 'public', weights: options.config.RECS_ACTION_WEIGHTS, halfLifeMs: options.halfLifeMs, minWeight: 0 },
        engine,
      );
    } finally {
      engine.close();
    }
  })();
  const data = trainingData(lake.interactions);
  log(`training ${specLabel(options.spec)} on ${lake.stats.positives} positives of ${lake.stats.users} users on ${lake.stats.items} posts`);
  const { model } = await trainModel(options.spec, data, {}, options.settings);
  const registry = new ModelRegistry(join(options.workDir, 'models'));
  let loaded: LoadedModel;
  try {
    const record = await registry.register(
      model,
      {
        metrics: {},
        dataFingerprint: '',
        dataCutoff: new Date(options.splitAtMs).toISOString(),
        hyperparameters: { ...options.settings, model: specLabel(options.spec) },
        dataSource: 'lake',
        tableVersions: lake.tableVersions,
      },
      {
        users: lake.interactions.userIds,
        items: lake.interactions.itemIds,
        popularity: data.popularity,
        seen: userItems(lake.interactions),
        attributes: lake.attributes,
      },
    );
    loaded = await registry.load(record.version);
  } finally {
    model.dispose();
  }

  try {
    const cases = loopTestCases(world.activity, options.splitAtMs, options.freshActions, options.freshWindowMs);
    const platform = new SimulatedPlatformView(world, options.config.RECS_TRENDING_WINDOW);
    const metrics = { registry: new Registry() } as ServiceMetrics;
    const pipeline = new RecommendPipeline(
      options.config,
      platform.userState as UserStateRepository,
      platform.catalog as PostCatalogRepository,
      platform.peers as Peers,
      platform.trending as TrendingSource,
      // One list at a time: scored in place.
      new ScoringThreads({ RECS_SCORING_THREADS: 0 }, createLogger('recs', 'warn'), metrics),
      metrics,
    );
    const k = options.k;
    const sums = Object.fromEntries(LOOP_VARIANTS.map((v) => [v, { hr: 0, ndcg: 0 }])) as Record<LoopVariant, { hr: number; ndcg: number }>;
    const score = (variant: LoopVariant, list: readonly string[], postId: string) => {
      const m = listMetrics(list, new Set([postId]), k);
      sums[variant].hr += m.recall;
      sums[variant].ndcg += m.ndcg;
    };
    const postCreated = new Map(world.posts.map((p) => [p.id, p.atMs]));
    let unknown = 0;
    let newer = 0;
    for (const c of cases) {
      const user = loaded.users.get(c.userId);
      if (user === undefined) unknown++;
      if ((postCreated.get(c.postId) ?? 0) >= options.splitAtMs) newer++;
      // What serving leaves out of the model's items for this user: what they engaged with in training.
      const skip = new ItemSet(loaded.items.size);
      if (user !== undefined) skip.addAll(loaded.seen.items.subarray(loaded.seen.offsets[user], loaded.seen.offsets[user + 1]));
      const ids = (indices: number[]) => indices.map((i) => loaded.items.id(i));
      score('itempop', ids(topK(loaded.popularity, k, skip.has)), c.postId);
      score('model', ids(topK(user === undefined ? loaded.popularity : loaded.model.scoreUser(user), k, skip.has)), c.postId);

      const ask = async (variant: LoopVariant, state: UserLiveState, following: boolean) => {
        platform.nowMs = c.atMs;
        platform.state = state;
        platform.following = following;
        const result = await pipeline.recommend({
          userId: c.userId,
          k,
          excludeSeen: true,
          loaded,
          skipItems: skip,
          keepOther: () => true,
          nowMs: c.atMs,
        });
        score(
          variant,
          result.items.map((item) => item.itemId),
          c.postId,
        );
      };
      await ask('loop', liveState(world.activity, c.userId, c.atMs, c.fresh), true);
      await ask('loop_without_fresh_actions', liveState(world.activity, c.userId, options.splitAtMs, []), true);
      await ask('loop_without_following', liveState(world.activity, c.userId, c.atMs, c.fresh), false);
    }
    const n = Math.max(1, cases.length);
    return {
      k,
      model: specLabel(options.spec),
      split_at: new Date(options.splitAtMs).toISOString(),
      test_users: cases.length,
      test_users_unknown_to_model: unknown,
      test_posts_newer_than_model: newer,
      fresh_actions_per_user: options.freshActions,
      training: { positives: lake.stats.positives, users: lake.stats.users, posts: lake.stats.items },
      world: {
        users: new Set(world.activity.map((a) => a.userId)).size,
        posts: world.posts.length,
        follows: world.follows.length,
        events: world.activity.length,
      },
      results: Object.fromEntries(LOOP_VARIANTS.map((v) => [v, { hr_at_10: sums[v].hr / n, ndcg_at_10: sums[v].ndcg / n }])) as Record<
        LoopVariant,
        VariantMetrics
      >,
    };
  } finally {
    loaded.model.dispose();
  }
}

/** The results as a markdown table. */
export function loopEvaluationTable(e: LoopEvaluation): string {
  const label: Record<LoopVariant, string> = {
    itempop: 'ItemPop',
    model: `${e.model} alone (trained vector, no other source)`,
    loop: `the loop (${e.model} + fold-in of fresh actions, following, content, trending; ranker, filters)`,
    loop_without_fresh_actions: 'the loop without fresh actions',
    loop_without_following: 'the loop without the follow graph',
  };
  return [
    `| ${e.test_users} test users (${e.test_users_unknown_to_model} unknown to the model) | HR@${e.k} | NDCG@${e.k} |`,
    '|---|---|---|',
    ...LOOP_VARIANTS.map((v) => `| ${label[v]} | ${e.results[v].hr_at_10.toFixed(4)} | ${e.results[v].ndcg_at_10.toFixed(4)} |`),
  ].join('\n');
}
