import { Inject, Injectable } from '@nestjs/common';
import type { storageV1 } from '@pulse/contracts';
import { grpcErrors } from '@pulse/platform';
import { STORAGE_CONFIG, type StorageConfig } from '../config/storage.config';
import { checkUserId } from '../profiles/profile.validation';
import { decodePageToken, encodePageToken, pageSize, toTimestamp } from '../shared/page-token';
import { BlocksRepository } from './blocks.cassandra.repository';
import { type Edge, GraphRepository } from './graph.cassandra.repository';

/** How many buckets one page read looks up at a time. */
const BUCKET_BATCH = 16;
/** ListBlocks' limit of each list: the default, and the most it may ask for. */
const BLOCKS_DEFAULT = 1_000;
const BLOCKS_MAX = 10_000;

@Injectable()
export class GraphService {
  constructor(
    private readonly graph: GraphRepository,
    private readonly blocks: BlocksRepository,
    @Inject(STORAGE_CONFIG) private readonly config: StorageConfig,
  ) {}

  /**
   * Follow: the following row decides (LWT), then the follower side and the counters follow it. A retried
   * Follow of an existing edge rewrites its follower side, so a call that failed half-way heals on retry.
   */
  async follow(
    followerId: string,
    followeeId: string,
    options: { followedAt?: Date; enforceLimit?: boolean } = {},
  ): Promise<{ follow: storageV1.Follow; created: boolean }> {
    this.checkPair(followerId, followeeId, 'follower_id', 'followee_id');
    const existing = await this.graph.following(followerId, followeeId);
    const enforceLimit = options.enforceLimit ?? true;
    if (!existing && enforceLimit && (await this.graph.counts(followerId)).following >= this.config.STORAGE_MAX_FOLLOWING) {
      throw grpcErrors.failedPrecondition(`follower_id "${followerId}" already follows ${this.config.STORAGE_MAX_FOLLOWING} users`);
    }
    const { created, edge } = await this.graph.insertFollowing({ followerId, followeeId, followedAt: options.followedAt ?? new Date() });
    await this.graph.writeFollowerSide(edge);
    if (created) await this.graph.adjustCounts(followerId, followeeId, 1);
    return { follow: toFollow(edge), created };
  }

  async unfollow(followerId: string, followeeId: string): Promise<boolean> {
    this.checkPair(followerId, followeeId, 'follower_id', 'followee_id');
    const edge = await this.graph.following(followerId, followeeId, true);
    if (!edge) return false;
    if (!(await this.graph.deleteFollowing(edge))) return false;
    await this.graph.deleteFollowerSide(edge);
    await this.graph.adjustCounts(followerId, followeeId, -1);
    return true;
  }

  async relationship(userId: string, otherUserId: string): Promise<storageV1.Relationship> {
    this.checkPair(userId, otherUserId, 'user_id', 'other_user_id');
    const [out, back] = await Promise.all([this.graph.following(userId, otherUserId), this.graph.following(otherUserId, userId)]);
    return {
      userId,
      otherUserId,
      following: !!out,
      followedBy: !!back,
      followingSince: toTimestamp(out?.followedAt),
      followedBySince: toTimestamp(back?.followedAt),
    };
  }

  async counts(userId: string): Promise<storageV1.FollowCounts> {
    const c = await this.graph.counts(checkUserId(userId));
    return { userId, followers: Math.max(0, c.followers), following: Math.max(0, c.following) };
  }

  async listFollowing(userId: string, requestedSize: number, token: string) {
    checkUserId(userId);
    const size = pageSize(requestedSize);
    const position = decodePageToken(token);
    const page = await this.graph.followingPage(userId, size, position?.s);
    return { follows: page.edges.map(toFollow), nextPageToken: encodePageToken(page.pageState ? { s: page.pageState } : undefined) };
  }

  /** Followers newest first, across day buckets; the token records the bucket and the position in it. */
  async listFollowers(userId: string, requestedSize: number, token: string) {
    checkUserId(userId);
    const size = pageSize(requestedSize);
    const position = decodePageToken(token);
    const edges: Edge[] = [];
    let buckets = position?.b !== undefined ? [position.b] : await this.graph.followerBuckets(userId, BUCKET_BATCH);
    let pageState = position?.s;
    while (buckets.length > 0) {
      const bucket = buckets.shift() as number;
      const page = await this.graph.followersPage(userId, bucket, size - edges.length, pageState);
      pageState = undefined;
      edges.push(...page.edges);
      if (page.pageState) {
        if (edges.length >= size) return { follows: edges.map(toFollow), nextPageToken: encodePageToken({ b: bucket, s: page.pageState }) };
        pageState = page.pageState;
        buckets.unshift(bucket);
        continue;
      }
      if (buckets.length === 0) buckets = await this.graph.followerBuckets(userId, BUCKET_BATCH, bucket);
      if (edges.length >= size) {
        return { follows: edges.map(toFollow), nextPageToken: buckets.length ? encodePageToken({ b: buckets[0] }) : '' };
      }
    }
    return { follows: edges.map(toFollow), nextPageToken: '' };
  }

  /** Users that `userId` follows and who follow `userId` back; pages over the (bounded) following list. */
  async listMutual(userId: string, requestedSize: number, token: string) {
    checkUserId(userId);
    const size = pageSize(requestedSize);
    let pageState = decodePageToken(token)?.s;
    const userIds: string[] = [];
    do {
      const page = await this.graph.followingPage(userId, size, pageState);
      const back = await Promise.all(page.edges.map((e) => this.graph.following(e.followeeId, userId)));
      page.edges.forEach((e, i) => back[i] && userIds.push(e.followeeId));
      pageState = page.pageState;
    } while (pageState && userIds.length < size);
    return { userIds, nextPageToken: encodePageToken(pageState ? { s: pageState } : undefined) };
  }

  /** The users `userId` blocked and those who blocked them, newest first, each list at most `limit` (0: 1,000). */
  async listBlocks(userId: string, limit: number): Promise<storageV1.ListBlocksResponse> {
    checkUserId(userId);
    const wanted = limit ?? 0;
    if (!Number.isInteger(wanted) || wanted < 0 || wanted > BLOCKS_MAX)
      throw grpcErrors.invalidArgument('limit', `must be between 0 and ${BLOCKS_MAX}`);
    const found = await this.blocks.list(userId, wanted === 0 ? BLOCKS_DEFAULT : wanted, BLOCKS_MAX + 1);
    return { blocking: found.blocking.map((b) => b.userId), blockedBy: found.blockedBy.map((b) => b.userId), truncated: found.truncated };
  }

  /** Applies a block of the app database (or its removal) to both directions. */
  async applyBlock(blockerId: string, blockedId: string, blocked: { at: Date } | undefined): Promise<void> {
    this.checkPair(blockerId, blockedId, 'blocker_id', 'blocked_id');
    if (blocked) await this.blocks.block(blockerId, blockedId, blocked.at);
    else await this.blocks.unblock(blockerId, blockedId);
  }

  /** Brings the follower side of one edge in line with the following row (after a half-failed write). */
  async repairEdge(followerId: string, followeeId: string): Promise<'written' | 'absent'> {
    const edge = await this.graph.following(followerId, followeeId, true);
    if (!edge) return 'absent';
    await this.graph.writeFollowerSide(edge);
    return 'written';
  }

  /**
   * Recounts a user's edges and moves the counters to the true values (with `dryRun`, only says whether they were
   * off). Returns the true counts and whether the counters differed from them.
   */
  async repairCounts(userId: string, options: { dryRun?: boolean } = {}): Promise<{ counts: storageV1.FollowCounts; moved: boolean }> {
    const [actual, stored] = await Promise.all([this.graph.countEdges(userId), this.graph.counts(userId)]);
    const moved = actual.followers !== stored.followers || actual.following !== stored.following;
    if (moved && !options.dryRun) {
      if (actual.followers !== stored.followers) await this.graph.addToCounter(userId, 'followers', actual.followers - stored.followers);
      if (actual.following !== stored.following) await this.graph.addToCounter(userId, 'following', actual.following - stored.following);
    }
    return { counts: { userId, ...actual }, moved };
  }

  private checkPair(a: string, b: string, fieldA: string, fieldB: string) {
    checkUserId(a, fieldA);
    checkUserId(b, fieldB);
    if (a === b) throw grpcErrors.invalidArgument(fieldB, 'must differ from ' + fieldA);
  }
}

function toFollow(edge: Edge): storageV1.Follow {
  return { followerId: edge.followerId, followeeId: edge.followeeId, createdAt: toTimestamp(edge.followedAt) };
}
