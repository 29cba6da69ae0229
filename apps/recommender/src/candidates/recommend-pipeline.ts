import { Inject, Injectable } from '@nestjs/common';
import { recsV1 } from '@pulse/contracts';
import { ServiceMetrics } from '@pulse/platform';
import { Counter, Histogram } from 'prom-client';
import { type CatalogPost, PostCatalogRepository } from '../catalog/post-catalog.redis.repository';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from '../config/recommender.config';
import { topK } from '../eval/metrics';
import { UserStateRepository, type UserLiveState } from '../live/user-state.redis.repository';
import type { LoadedModel } from '../registry/model-registry';
import { ItemSet } from './item-set';
import { modelCandidates } from './model.source';
import { Peers } from './peers';
import { type Candidate, orderedSources, rank } from './ranker';
import { ScoringThreads } from './scoring-threads';
import { TrendingSource } from './trending.source';

const { CandidateSource, Strategy } = recsV1;

/** Followed accounts read per call, and recent posts per account. */
const FOLLOWING_ACCOUNTS = 200;
const POSTS_PER_ACCOUNT = 5;
/** Tags of recent actions used by the content source, and posts read per tag. */
const CONTENT_TAGS = 5;
const POSTS_PER_TAG = 40;
/** Recent positive actions whose posts' tags make the user's content profile. */
const CONTENT_SEEDS = 20;
const POSITIVE = new Set(['VIEW', 'CLICK', 'LIKE', 'COMMENT', 'SHARE', 'BOOKMARK']);

export interface PipelineRequest {
  userId: string;
  k: number;
  excludeSeen: boolean;
  loaded?: LoadedModel;
  /** Request-level exclusions of model items (exclude_item_ids, attribute conditions, the training-time seen set). */
  skipItems?: ItemSet;
  /** Whether a post the model does not know passes the request's attribute conditions and exclusions. */
  keepOther: (id: string) => boolean;
  /** The time the list is for (ages, windows, freshness); the clock unless a past request is replayed (evaluation). */
  nowMs?: number;
}

export interface PipelineResult {
  items: recsV1.RecommendedItem[];
  strategy: recsV1.Strategy;
  degraded: recsV1.DegradedSource[];
  fallbackReason: string;
}

const EMPTY_STATE: UserLiveState = { recent: [], seen: new Set(), hidden: new Set(), mutedAuthors: new Set() };

/** Runs `work` within `budgetMs`; a late or failed answer becomes a degraded source and `fallback`. */
async function within<T>(
  dependency: string,
  work: () => Promise<T>,
  budgetMs: number,
  degraded: recsV1.DegradedSource[],
  fallback: T,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${budgetMs} ms`)), budgetMs);
      }),
    ]);
  } catch (error) {
    degraded.push({ dependency, reason: error instanceof Error ? error.message : String(error) });
    return fallback;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Recommend for a platform user, the way a home feed is assembled (Twitter's home-mix: candidate sources, a
 * ranker, filters):
 *  1. candidates — the model's top items for the user as they are now (fold-in of recent actions); recent posts
 *     of the accounts they follow (storage's graph over gRPC, posts from the catalogue); recent posts sharing tags
 *     with what they engaged with lately; what is trending (etl aggregates through the feature store);
 *  2. filters — posts seen (when asked) or hidden, the user's own, deleted ones, those of accounts the user hid
 *     or unfollowed, of users blocked either way (storage's blocks, from the app database; when storage does not
 *     answer in time this filter is missing and `degraded` says so), and the request's own exclusions;
 *  3. ranking — the model's opinion, engagement features from the feature store, freshness and the sources
 *     (src/candidates/ranker.ts).
 * Every source and input has a time budget: one that is down or slow is left out and named in `degraded`, the
 * answer is never an error because of it.
 */
@Injectable()
export class RecommendPipeline {
  private readonly sourceItems: Counter<'source'>;
  private readonly degradedTotal: Counter<'dependency'>;
  private readonly seconds: Histogram;

  constructor(
    @Inject(RECOMMENDER_CONFIG) private readonly config: RecommenderConfig,
    private readonly state: UserStateRepository,
    private readonly catalog: PostCatalogRepository,
    private readonly peers: Peers,
    private readonly trending: TrendingSource,
    private readonly scoring: ScoringThreads,
    metrics: ServiceMetrics,
  ) {
    this.sourceItems = new Counter({
      name: 'recs_candidates_total',
      help: 'Candidates proposed to Recommend, by source (before filters)',
      labelNames: ['source'],
      registers: [metrics.registry],
    });
    this.degradedTotal = new Counter({
      name: 'recs_degraded_total',
      help: 'Recommend calls answered without a source or input, by dependency',
      labelNames: ['dependency'],
      registers: [metrics.registry],
    });
    this.seconds = new Histogram({
      name: 'recs_pipeline_seconds',
      help: 'Time to assemble, filter and rank the candidates of a Recommend call',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [metrics.registry],
    });
  }

  async recommend(request: PipelineRequest): Promise<PipelineResult> {
    const started = performance.now();
    const now = request.nowMs ?? Date.now();
    const budget = this.config.RECS_SOURCE_BUDGET;
    const degraded: recsV1.DegradedSource[] = [];
    const state = await within('redis', () => this.state.read(request.userId), budget, degraded, EMPTY_STATE);
    const candidates = new Map<string, Candidate>();
    // Candidates per source, counted into the metric once per call (not once per candidate).
    const proposed = new Map<recsV1.CandidateSource, number>();
    const add = (id: string, source: recsV1.CandidateSource, extra: Partial<Candidate> = {}) => {
      let c = candidates.get(id);
      if (!c) candidates.set(id, (c = { id, sources: new Set() }));
      c.sources.add(source);
      Object.assign(c, extra);
      proposed.set(source, (proposed.get(source) ?? 0) + 1);
    };

    // The sources that wait on peers run together; the model's runs meanwhile (on a scoring thread).
    const following = within('storage', () => this.followingPosts(request.userId, state, now, budget), budget, degraded, []);
    const blocked = within('storage', () => this.peers.blocked(request.userId, budget), budget, degraded, new Set<string>());
    const content = within('redis', () => this.contentPosts(state, now), budget, degraded, []);
    const loaded = request.loaded;
    let representation = 'none';
    if (loaded) {
      // The request's exclusions, and the posts the user hid (and saw, when asked) lately.
      const skip = request.skipItems?.copy() ?? new ItemSet(loaded.items.size);
      for (const ids of request.excludeSeen ? [state.hidden, state.seen] : [state.hidden]) {
        for (const id of ids) {
          const i = loaded.items.get(id);
          if (i !== undefined) skip.add(i);
        }
      }
      const fromModel = await modelCandidates(loaded, request.userId, state.recent, {
        weights: this.config.RECS_ACTION_WEIGHTS,
        halfLifeMs: this.config.RECS_FOLD_IN_HALF_LIFE,
        lambda: this.config.RECS_FOLD_IN_LAMBDA,
        gramianWeight: this.config.RECS_FOLD_IN_GRAMIAN,
        limit: this.config.RECS_MODEL_CANDIDATES,
        nowMs: now,
        skip,
        scoring: this.scoring,
      });
      representation = fromModel.representation;
      fromModel.items.forEach((item, n) =>
        add(loaded.items.id(item.index), CandidateSource.CANDIDATE_SOURCE_MODEL, { modelRank: n, modelScore: item.score }),
      );
    }
    for (const p of await following) add(p.id, CandidateSource.CANDIDATE_SOURCE_FOLLOWING, { createdAtMs: p.createdAtMs });
    for (const p of await content) {
      const affinity = Math.max(p.affinity, candidates.get(p.id)?.contentAffinity ?? 0);
      add(p.id, CandidateSource.CANDIDATE_SOURCE_CONTENT, { createdAtMs: p.createdAtMs, contentAffinity: affinity });
    }
    const trending = this.trending.current;
    if (this.trending.stale && trending.error)
      degraded.push({ dependency: 'feature-store', reason: `trending list is stale: ${trending.error}` });
    for (const p of trending.posts) add(p.id, CandidateSource.CANDIDATE_SOURCE_TRENDING, { createdAtMs: p.createdAtMs });

    const known = representation !== 'none' || state.recent.length > 0;
    if (!known && loaded) {
      // No history: the popular items fill what trending and followed accounts do not.
      topK(loaded.popularity, request.k * 3, request.skipItems?.has).forEach((index, n) =>
        add(loaded.items.id(index), CandidateSource.CANDIDATE_SOURCE_POPULAR, { popularRank: n }),
      );
    }

    const ids = [...candidates.keys()];
    const facts = await within('redis', () => this.catalog.get(ids), budget, degraded, new Map<string, CatalogPost>());
    const blockedAuthors = await blocked;
    const kept = [...candidates.values()].filter((c) => this.keep(c, facts.get(c.id), state, request, loaded, blockedAuthors));
    for (const c of kept) c.createdAtMs ??= facts.get(c.id)?.createdAtMs;
    const engagement = await within(
      'feature-store',
      () =>
        this.peers.engagement(
          kept.map((c) => c.id),
          budget,
        ),
      budget,
      degraded,
      new Map(),
    );
    for (const c of kept) {
      const e = engagement.get(c.id);
      if (e) Object.assign(c, { engagements: e.engagements, ctr: e.ctr });
    }
    const ranked = rank(kept, this.config.RECS_RANK_WEIGHTS, this.config.RECS_MODEL_CANDIDATES, now).slice(0, request.k);
    for (const d of degraded) this.degradedTotal.inc({ dependency: d.dependency });
    for (const [source, n] of proposed) this.sourceItems.inc({ source: CandidateSource[source] ?? String(source) }, n);
    this.seconds.observe((performance.now() - started) / 1000);

    const items = ranked.map((r, n) => ({
      itemId: r.candidate.id,
      score: r.score,
      rank: n + 1,
      sources: orderedSources(r.candidate.sources),
    }));
    if (!loaded) {
      return {
        items,
        strategy: Strategy.STRATEGY_POPULAR_FALLBACK,
        degraded,
        fallbackReason: "no model is promoted yet: trending, followed accounts' and tag-matched posts",
      };
    }
    if (!known) {
      return {
        items,
        strategy: Strategy.STRATEGY_POPULAR_FALLBACK,
        degraded,
        fallbackReason: `no history for user ${request.userId} yet: trending, popular and followed accounts' posts`,
      };
    }
    return { items, strategy: Strategy.STRATEGY_PERSONALIZED, degraded, fallbackReason: '' };
  }

  /** Whether a candidate passes the filters. */
  private keep(
    c: Candidate,
    post: CatalogPost | undefined,
    state: UserLiveState,
    request: PipelineRequest,
    loaded: LoadedModel | undefined,
    blocked: ReadonlySet<string>,
  ): boolean {
    if (state.hidden.has(c.id)) return false;
    if (request.excludeSeen && state.seen.has(c.id)) return false;
    if (post) {
      if (post.deleted || post.authorId === request.userId || state.mutedAuthors.has(post.authorId) || blocked.has(post.authorId))
        return false;
    }
    const index = loaded?.items.get(c.id);
    if (index !== undefined) return !(request.skipItems?.has(index) ?? false);
    return request.keepOther(c.id);
  }

  /** Recent posts of the accounts the user follows (minus those they muted), from the catalogue. */
  private async followingPosts(userId: string, state: UserLiveState, now: number, budget: number) {
    const followed = (await this.peers.following(userId, FOLLOWING_ACCOUNTS, budget)).filter((a) => !state.mutedAuthors.has(a));
    return this.catalog.recentByAuthors(followed, now - this.config.RECS_FOLLOWING_WINDOW, POSTS_PER_ACCOUNT);
  }

  /**
   * Recent posts sharing the most frequent tags of the posts the user engaged with lately, each with its
   * affinity: the share of those posts that carry the tag it was found by (1 when every recent like had it).
   */
  private async contentPosts(state: UserLiveState, now: number): Promise<{ id: string; createdAtMs: number; affinity: number }[]> {
    const seeds = state.recent.filter((a) => a.target === 'POST' && POSITIVE.has(a.type)).slice(0, CONTENT_SEEDS);
    if (seeds.length === 0) return [];
    const posts = await this.catalog.get([...new Set(seeds.map((a) => a.targetId))]);
    const counts = new Map<string, number>();
    for (const p of posts.values()) for (const tag of p.tags) counts.set(tag, (counts.get(tag) ?? 0) + 1);
    const tags = [...counts]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, CONTENT_TAGS)
      .map(([tag]) => tag);
    const found = await this.catalog.recentByTags(tags, now - this.config.RECS_CONTENT_WINDOW, POSTS_PER_TAG);
    return found.map((f) => ({ id: f.id, createdAtMs: f.createdAtMs, affinity: (counts.get(f.tag) ?? 0) / posts.size }));
  }
}
