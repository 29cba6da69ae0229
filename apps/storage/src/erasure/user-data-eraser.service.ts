import { Inject, Injectable } from '@nestjs/common';
import { LOGGER, type Logger } from '@pulse/platform';
import { STORAGE_CONFIG, type StorageConfig } from '../config/storage.config';
import { BlocksRepository } from '../graph/blocks.cassandra.repository';
import { GraphRepository } from '../graph/graph.cassandra.repository';
import { GraphService } from '../graph/graph.service';
import { MediaRepository } from '../media/media.cassandra.repository';
import { MediaService } from '../media/media.service';
import { checkUserId } from '../profiles/profile.validation';
import { ProfilesRepository } from '../profiles/profiles.cassandra.repository';
import { forEachConcurrently } from '../shared/concurrency';
import { dayOf } from '../shared/page-token';
import { UserDataRepository } from './user-data.cassandra.repository';

/** What one erasure found and removed, by kind (the keys of EraseUserDataResponse.erased). */
export type ErasedCounts = Record<
  | 'profiles'
  | 'handles'
  | 'following'
  | 'followers'
  | 'graph_rows'
  | 'blocks'
  | 'activity_rows'
  | 'activity_days'
  | 'media_objects'
  | 'blobs_deleted'
  | 'blobs_kept_shared'
  | 'cdc_row_versions',
  number
>;

/** Days back from today whose activity partitions are deleted whether listed or not: past the 90-day TTL. */
const ACTIVITY_DAYS_BACK = 100;
const EDGE_CONCURRENCY = 16;

/**
 * Removes everything storage holds about a user, each step idempotent so that a repeated call (a retry, a
 * verification pass) removes what is left and reports what it found:
 *
 * 1. every follow edge in both directions through the graph's own Unfollow path (the following row by
 *    compare-and-set, then the follower side, then both counters), so the other users' counts move with it;
 * 2. the user's own graph partitions (emptied buckets, counters), and their blocks in both directions;
 * 3. the activity partitions: every listed day and every day of the TTL window;
 * 4. the media objects the user owns, each through DeleteMedia's path (blob references released by
 *    compare-and-set, the content deleted with its last reference, so content shared with other objects stays,
 *    in whichever tier the object is);
 * 5. the profile and its handle;
 * 6. the versions of the app-database rows naming the user (users, follows, blocks).
 */
@Injectable()
export class UserDataEraserService {
  constructor(
    private readonly profiles: ProfilesRepository,
    private readonly graph: GraphService,
    private readonly edges: GraphRepository,
    private readonly blocks: BlocksRepository,
    private readonly media: MediaService,
    private readonly mediaRepo: MediaRepository,
    private readonly userData: UserDataRepository,
    @Inject(STORAGE_CONFIG) private readonly config: StorageConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async erase(userId: string): Promise<ErasedCounts> {
    checkUserId(userId);
    const counts: ErasedCounts = {
      profiles: 0,
      handles: 0,
      following: 0,
      followers: 0,
      graph_rows: 0,
      blocks: 0,
      activity_rows: 0,
      activity_days: 0,
      media_objects: 0,
      blobs_deleted: 0,
      blobs_kept_shared: 0,
      cdc_row_versions: 0,
    };
    const schema = this.config.STORAGE_CDC_SCHEMA;
    const rowKeys: [string, string][] = [[`${schema}.users`, userId]];
    for (const [follower, followee] of await this.eraseEdges(userId, counts))
      rowKeys.push([`${schema}.follows`, `${follower}:${followee}`]);
    const blocks = await this.blocks.eraseUser(userId);
    counts.blocks = blocks.length;
    for (const [blocker, blocked] of blocks) rowKeys.push([`${schema}.blocks`, `${blocker}:${blocked}`]);
    await this.eraseActivity(userId, counts);
    await this.eraseMedia(userId, counts);
    const profile = await this.profiles.get(userId);
    if (profile) {
      counts.profiles++;
      if (profile.handle && (await this.profiles.ownerOfHandle(profile.handle)) === userId) counts.handles++;
      await this.profiles.deleteFromSource(userId);
    }
    counts.cdc_row_versions = await this.userData.deleteCdcRows(userId, rowKeys);
    this.logger.info({ counts }, 'user data erased');
    return counts;
  }

  /** Removes every edge of the user; returns them as (follower, followee) pairs. */
  private async eraseEdges(userId: string, counts: ErasedCounts): Promise<[string, string][]> {
    const pairs: [string, string][] = [];
    // Whom the user follows: a bounded partition (STORAGE_MAX_FOLLOWING), read whole first.
    const followees: string[] = [];
    let pageState: string | undefined;
    do {
      const page = await this.edges.followingPage(userId, 1000, pageState);
      followees.push(...page.edges.map((e) => e.followeeId));
      pageState = page.pageState;
    } while (pageState);
    pairs.push(...followees.map((f): [string, string] => [userId, f]));
    await forEachConcurrently(followees, EDGE_CONCURRENCY, async (followee) => {
      if (followee !== userId && (await this.graph.unfollow(userId, followee))) counts.following++;
    });
    // Who follows the user: bucket by bucket, newest first.
    const buckets = await this.edges.followerBuckets(userId, 100_000);
    for (const bucket of buckets) {
      let state: string | undefined;
      do {
        const page = await this.edges.followersPage(userId, bucket, 1000, state);
        pairs.push(...page.edges.map((e): [string, string] => [e.followerId, userId]));
        await forEachConcurrently(page.edges, EDGE_CONCURRENCY, async (edge) => {
          if (edge.followerId !== userId && (await this.graph.unfollow(edge.followerId, userId))) counts.followers++;
        });
        state = page.pageState;
      } while (state);
    }
    counts.graph_rows += await this.userData.deleteGraphPartitions(userId, buckets);
    return pairs;
  }

  private async eraseActivity(userId: string, counts: ErasedCounts): Promise<void> {
    const today = dayOf(Date.now());
    const listed = await this.userData.activityDays(userId);
    const days = new Set(listed);
    for (let day = today + 1; day >= today - ACTIVITY_DAYS_BACK; day--) days.add(day);
    await forEachConcurrently([...days], 8, async (day) => {
      const rows = await this.userData.countActivity(userId, day);
      if (rows > 0 || listed.includes(day)) await this.userData.deleteActivityDay(userId, day);
      counts.activity_rows += rows;
    });
    counts.activity_days += listed.length;
    await this.userData.deleteActivityDays(userId);
  }

  private async eraseMedia(userId: string, counts: ErasedCounts): Promise<void> {
    const profile = await this.profiles.get(userId);
    const ids = new Set<string>(profile?.avatarMediaId ? [profile.avatarMediaId] : []);
    let pageState: string | undefined;
    do {
      const page = await this.mediaRepo.ownedPage(userId, 1000, pageState);
      page.mediaIds.forEach((id) => ids.add(id));
      pageState = page.pageState;
    } while (pageState);
    for (const mediaId of ids) {
      for (let attempt = 0; attempt < 8; attempt++) {
        const row = await this.mediaRepo.get(mediaId);
        if (!row || row.ownerId !== userId) {
          // Gone already (an earlier pass), or someone else's object named as the avatar: only the index entry goes.
          await this.mediaRepo.removeFromOwnerIndex({ mediaId, ownerId: userId });
          break;
        }
        const outcome = await this.media.removeReporting(row);
        if (outcome === 'changed') continue;
        counts.media_objects++;
        if (outcome === 'deleted') counts.blobs_deleted++;
        else counts.blobs_kept_shared++;
        break;
      }
    }
  }
}
