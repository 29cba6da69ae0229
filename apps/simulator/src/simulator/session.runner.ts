import type { ingestV1 } from '@pulse/contracts';
import type { Rng } from '@pulse/platform';
import type { AppDatabasePgRepository, MediaAttachment, PostRow } from '../app-database/app-database.pg.repository';
import type { BehaviourModel, FeedItem, SessionPlan } from '../behaviour/behaviour.model';
import type { IngestEventSender } from '../peers/ingest.client';
import type { RecsClient } from '../peers/recs.client';
import type { StorageMediaClient } from '../peers/storage-media.client';
import { clusterImage } from '../world/image.generator';
import { postTags } from '../world/text.generator';
import { clusterIndex } from '../world/topic-clusters';
import type { World } from '../world/world';
import { type ActivityEventFactory, ActivityType, post, user } from './activity-events';
import type { SimulatorMetrics } from './simulator.metrics';

/** Items per feed page. */
export const FEED_SIZE = 20;
/** Of a browsed page, at most this many from followed users; the rest popular posts. */
const FOLLOWING_SHARE = 12;
const POPULAR_POOL = 100;
const POPULAR_DAYS = 30;
const POPULAR_TTL_MS = 30_000;

type Emit = (
  type: ingestV1.ActivityType,
  target: { type: ingestV1.TargetType; id: string },
  properties?: Record<string, string>,
  recommendationId?: string,
) => ingestV1.ActivityEvent;

/** A page shown to the user, and where it came from. */
interface Feed {
  source: 'recommendations' | 'browse';
  recommendationId: string;
  items: (FeedItem & { surface: string })[];
}

export interface SessionDependencies {
  world: World;
  model: BehaviourModel;
  events: ActivityEventFactory;
  recs: RecsClient;
  media: StorageMediaClient;
  appDb: AppDatabasePgRepository;
  sender: IngestEventSender;
  metrics: SimulatorMetrics;
}

/**
 * Runs one planned session against the platform: publishes, follows, unfollows, blocks; opens the home feed from the
 * recommender (or browses followed users' and popular posts from PostgreSQL when it has nothing); tracks an
 * IMPRESSION per shown item and the user's reactions (CLICK, VIEW with dwell_ms, LIKE, COMMENT, SHARE, BOOKMARK,
 * HIDE, FOLLOW), writing the rows an app would write; hands the events to the ingest sender. A failed write leaves
 * out its event; nothing here throws for a peer that is down.
 */
export class SessionRunner {
  private sessions = 0;
  private popular?: { rows: PostRow[]; at: number };

  constructor(
    private readonly deps: SessionDependencies,
    private readonly sessionPrefix: string,
  ) {}

  /** Runs the session; returns the number of events it produced. */
  async run(plan: SessionPlan): Promise<number> {
    const { world, model, metrics, sender } = this.deps;
    const userId = world.agents[plan.agent].userId;
    const events: ingestV1.ActivityEvent[] = [];
    const make = this.deps.events.forSession(userId, plan.agent, `${this.sessionPrefix}-${this.sessions++}`);
    const emit: Emit = (...args) => {
      const event = make(...args);
      events.push(event);
      return event;
    };

    if (plan.post) await this.publish(plan, plan.post, userId, emit);
    if (plan.follow !== undefined) await this.follow(plan.agent, plan.follow, emit, { surface: 'suggestions' });
    if (plan.unfollow !== undefined) await this.unfollow(plan.agent, plan.unfollow, emit);

    const feed = await this.feed(plan.agent, plan.rng);
    const recId = feed.recommendationId;
    for (const item of feed.items) emit(ActivityType.ACTIVITY_TYPE_IMPRESSION, post(item.postId), props(item), recId);
    const reactions = model.react(plan, feed.items);
    for (const r of reactions) {
      const item = feed.items[r.item.position - 1];
      const target = post(item.postId);
      if (r.dwellMs !== undefined) {
        emit(ActivityType.ACTIVITY_TYPE_CLICK, target, props(item), recId);
        emit(ActivityType.ACTIVITY_TYPE_VIEW, target, { ...props(item), dwell_ms: String(r.dwellMs) }, recId);
      }
      if (r.like && (await this.write('posts', 'update', () => this.deps.appDb.like(item.postId))) !== undefined)
        emit(ActivityType.ACTIVITY_TYPE_LIKE, target, props(item), recId);
      if (r.comment) {
        const body = r.comment;
        const commentId = await this.write('comments', 'insert', () => this.deps.appDb.comment(item.postId, userId, body));
        if (commentId !== undefined) emit(ActivityType.ACTIVITY_TYPE_COMMENT, target, { ...props(item), comment_id: commentId }, recId);
      }
      if (r.share) emit(ActivityType.ACTIVITY_TYPE_SHARE, target, props(item), recId);
      if (r.bookmark) emit(ActivityType.ACTIVITY_TYPE_BOOKMARK, target, props(item), recId);
      if (r.hide) emit(ActivityType.ACTIVITY_TYPE_HIDE, target, props(item), recId);
      if (r.followAuthor) await this.follow(plan.agent, item.author, emit, props(item), recId);
      if (r.blockAuthor) await this.block(plan.agent, item.author, emit, props(item), recId);
    }
    model.drift(plan, reactions);
    metrics.session(feed.source);
    sender.enqueue(events);
    return events.length;
  }

  private async publish(plan: SessionPlan, draft: NonNullable<SessionPlan['post']>, userId: string, emit: Emit): Promise<void> {
    const { topic, body, withMedia } = draft;
    const tags = postTags(topic);
    const media: MediaAttachment[] = [];
    if (withMedia) {
      const uploaded = await this.deps.media.put({
        ownerId: userId,
        contentType: 'image/png',
        filename: `${tags[1]}.png`,
        tags: tags.slice(0, 2),
        bytes: clusterImage(plan.rng, topic.cluster),
      });
      if (uploaded) media.push(uploaded);
    }
    const postId = await this.write('posts', 'insert', () => this.deps.appDb.createPost(userId, body, tags, media));
    if (postId === undefined) return;
    this.deps.world.posts.add(postId, { cluster: topic.cluster, author: plan.agent });
    this.deps.world.postCount++;
    emit(ActivityType.ACTIVITY_TYPE_POST_CREATED, post(postId), { surface: 'composer', media: String(media.length) });
  }

  private async follow(agent: number, target: number, emit: Emit, properties: Record<string, string>, recId = ''): Promise<void> {
    const { world, appDb } = this.deps;
    const followee = world.agents[target].userId;
    const outcome = await this.write('follows', 'insert', () => appDb.follow(world.agents[agent].userId, followee));
    if (outcome === undefined || outcome === 'blocked') return;
    world.addFollow(agent, target);
    if (outcome === 'created') emit(ActivityType.ACTIVITY_TYPE_FOLLOW, user(followee), properties, recId);
  }

  /** Blocks an author: the app ends their follows both ways; the client reports it as hiding the account. */
  private async block(agent: number, target: number, emit: Emit, properties: Record<string, string>, recId = ''): Promise<void> {
    const { world, appDb } = this.deps;
    const blocked = world.agents[target].userId;
    const created = await this.write('blocks', 'insert', () => appDb.block(world.agents[agent].userId, blocked));
    if (created === undefined) return;
    world.removeFollow(agent, target);
    world.removeFollow(target, agent);
    if (created) emit(ActivityType.ACTIVITY_TYPE_HIDE, user(blocked), { ...properties, reason: 'block' }, recId);
  }

  private async unfollow(agent: number, target: number, emit: Emit): Promise<void> {
    const { world, appDb } = this.deps;
    const followee = world.agents[target].userId;
    const removed = await this.write('follows', 'delete', () => appDb.unfollow(world.agents[agent].userId, followee));
    if (removed === undefined) return;
    world.removeFollow(agent, target);
    if (removed) emit(ActivityType.ACTIVITY_TYPE_UNFOLLOW, user(followee), { surface: 'profile' });
  }

  /** The recommender's home feed, or a browsed page when it has no list (no model yet) or does not answer. */
  private async feed(agent: number, rng: Rng): Promise<Feed> {
    const userId = this.deps.world.agents[agent].userId;
    const list = await this.deps.recs.homeFeed(userId, FEED_SIZE);
    if (list && list.itemIds.length > 0) {
      const rows = await this.known(list.itemIds);
      return {
        source: 'recommendations',
        recommendationId: list.recommendationId,
        items: list.itemIds.map((id, i) => ({ ...this.fact(id, rows), postId: id, position: i + 1, surface: 'home_feed' })),
      };
    }
    const following = (await this.read(() => this.deps.appDb.followingFeed(userId, FOLLOWING_SHARE))) ?? [];
    const seen = new Set(following.map((p) => p.id));
    const popular = (await this.popularPool()).filter((p) => !seen.has(p.id) && p.authorId !== userId);
    const picked: { row: PostRow; surface: string }[] = following.map((row) => ({ row, surface: 'following' }));
    while (picked.length < FEED_SIZE && popular.length > 0) {
      picked.push({ row: popular.splice(rng.int(popular.length), 1)[0], surface: 'popular' });
    }
    const rows = new Map(picked.map(({ row }) => [row.id, row]));
    for (const row of rows.values()) this.remember(row);
    return {
      source: 'browse',
      recommendationId: '',
      items: picked.map(({ row, surface }, i) => ({ ...this.fact(row.id, rows), postId: row.id, position: i + 1, surface })),
    };
  }

  private fact(postId: string, rows: ReadonlyMap<string, PostRow>): { cluster: number; author: number } {
    return this.deps.world.posts.get(postId) ?? this.remember(rows.get(postId)) ?? { cluster: -1, author: -1 };
  }

  /** Rows of the listed posts the catalogue does not know yet, read from PostgreSQL and remembered. */
  private async known(ids: readonly string[]): Promise<Map<string, PostRow>> {
    const missing = ids.filter((id) => !this.deps.world.posts.get(id));
    const rows = missing.length > 0 ? ((await this.read(() => this.deps.appDb.posts(missing))) ?? []) : [];
    return new Map(rows.map((r) => [r.id, r]));
  }

  private remember(row: PostRow | undefined): { cluster: number; author: number } | undefined {
    if (!row) return undefined;
    const fact = { cluster: clusterIndex(row.cluster), author: this.deps.world.byUserId.get(row.authorId) ?? -1 };
    this.deps.world.posts.add(row.id, fact);
    return fact;
  }

  private async popularPool(): Promise<PostRow[]> {
    if (!this.popular || Date.now() - this.popular.at > POPULAR_TTL_MS) {
      const rows = await this.read(() => this.deps.appDb.popularPosts(POPULAR_POOL, POPULAR_DAYS));
      if (rows) this.popular = { rows, at: Date.now() };
    }
    return [...(this.popular?.rows ?? [])];
  }

  private async write<T>(table: string, operation: 'insert' | 'update' | 'delete', run: () => Promise<T>): Promise<T | undefined> {
    const result = await this.read(run);
    if (result !== undefined) this.deps.metrics.appWrite(table, operation);
    return result;
  }

  /** Runs a PostgreSQL call; a failure is counted (peer "postgres", its SQLSTATE) and gives undefined. */
  private async read<T>(run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      this.deps.metrics.peerError('postgres', (error as { code?: string }).code ?? 'UNKNOWN');
      return undefined;
    }
  }
}

function props(item: { position: number; surface: string }): Record<string, string> {
  return { position: String(item.position), surface: item.surface };
}
