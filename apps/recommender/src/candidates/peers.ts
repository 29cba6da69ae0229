import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { featuresV1 } from '@pulse/contracts';
import { PeerClient, ServiceMetrics, peerSecurity } from '@pulse/platform';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from '../config/recommender.config';

/** Engagement of a post over the last hour, as the ranking and the trending list read it. */
export interface PostEngagement {
  engagements: number;
  ctr: number;
}

const ENGAGEMENT_REFS = ['post_engagement_1h:engagements', 'post_engagement_1h:ctr'];
const PYMK_REFS = ['user_pymk:candidates', 'user_pymk:scores', 'user_pymk:common_connections'];

/** A user's people-you-may-know list as the analytics service computed it. */
export interface PeopleYouMayKnow {
  candidates: string[];
  scores: number[];
  commonConnections: number[];
  computedAt?: { seconds: number; nanos: number };
}

function numberOf(
  result: { value?: { int64Value?: number; doubleValue?: number; int32Value?: number; floatValue?: number }; status: number } | undefined,
) {
  if (!result || result.status !== featuresV1.FeatureStatus.FEATURE_STATUS_PRESENT || !result.value) return undefined;
  const v = result.value;
  const n = v.doubleValue ?? v.int64Value ?? v.floatValue ?? v.int32Value;
  return n === undefined ? undefined : Number(n);
}

/**
 * The recommender's peers: storage (the follow graph) and the feature store (engagement of posts, people you may
 * know), each a
 * PeerClient with a deadline, retries inside the caller's budget and a circuit breaker, so a slow peer makes
 * Recommend leave a source out instead of waiting or failing.
 */
@Injectable()
export class Peers implements OnApplicationShutdown {
  readonly storage: PeerClient;
  readonly features: PeerClient;

  constructor(@Inject(RECOMMENDER_CONFIG) config: RecommenderConfig, metrics: ServiceMetrics) {
    const common = {
      deadlineMs: config.RECS_SOURCE_BUDGET,
      retries: 1,
      backoffMs: 10,
      failureThreshold: 5,
      openMs: 5_000,
      registry: metrics.registry,
      // The recommender's own key (PULSE_API_KEY): storage:read and features:read are what it needs.
      ...peerSecurity(config),
    };
    this.storage = new PeerClient({
      ...common,
      name: 'storage',
      address: config.STORAGE_GRPC_ADDR,
      protoFile: 'pulse/storage/v1/storage_service.proto',
      service: 'pulse.storage.v1.StorageService',
    });
    this.features = new PeerClient({
      ...common,
      name: 'feature-store',
      address: config.FEATURES_GRPC_ADDR,
      protoFile: 'pulse/features/v1/features_service.proto',
      service: 'pulse.features.v1.FeaturesService',
    });
  }

  /** Accounts the user follows, newest follows first (one page of at most `limit`). */
  async following(userId: string, limit: number, budgetMs: number): Promise<string[]> {
    const response = await this.storage.call<{ follows: { followeeId: string }[] }>(
      'ListFollowing',
      { userId, pageSize: limit },
      { budgetMs },
    );
    return response.follows.map((f) => f.followeeId);
  }

  /** Users the user blocked and users who blocked them (storage's blocks, from the app database), as one set. */
  async blocked(userId: string, budgetMs: number): Promise<Set<string>> {
    const response = await this.storage.call<{ blocking: string[]; blockedBy: string[] }>('ListBlocks', { userId }, { budgetMs });
    return new Set([...response.blocking, ...response.blockedBy]);
  }

  /** Engagement over the last hour of each post (absent when the feature store has none for it). */
  async engagement(postIds: readonly string[], budgetMs: number): Promise<Map<string, PostEngagement>> {
    const out = new Map<string, PostEngagement>();
    for (let start = 0; start < postIds.length; start += 1000) {
      const chunk = postIds.slice(start, start + 1000);
      const response = await this.features.call<{ rows: { features: { value?: Record<string, number>; status: number }[] }[] }>(
        'GetOnlineFeatures',
        { entityRows: chunk.map((id) => ({ joinKeys: { post_id: { stringValue: id } } })), features: { refs: ENGAGEMENT_REFS } },
        { budgetMs },
      );
      response.rows.forEach((row, n) => {
        const engagements = numberOf(row.features[0]);
        const ctr = numberOf(row.features[1]);
        if (engagements !== undefined || ctr !== undefined) out.set(chunk[n], { engagements: engagements ?? 0, ctr: ctr ?? 0 });
      });
    }
    return out;
  }

  /**
   * The user's people-you-may-know list (the feature store's user_pymk view, pushed daily by the analytics service):
   * candidates best first with their scores and common connections, and when it was computed; undefined when the
   * user has none (never computed, or older than the view's TTL).
   */
  async peopleYouMayKnow(userId: string, budgetMs: number): Promise<PeopleYouMayKnow | undefined> {
    type ListValue = { values?: (string | number)[] };
    const response = await this.features.call<{
      rows: {
        features: {
          value?: { stringListValue?: ListValue; doubleListValue?: ListValue; int64ListValue?: ListValue };
          status: number;
          eventTimestamp?: { seconds: number; nanos: number };
        }[];
      }[];
    }>(
      'GetOnlineFeatures',
      { entityRows: [{ joinKeys: { user_id: { stringValue: userId } } }], features: { refs: PYMK_REFS } },
      { budgetMs },
    );
    const [candidates, scores, common] = response.rows[0]?.features ?? [];
    if (!candidates || candidates.status !== featuresV1.FeatureStatus.FEATURE_STATUS_PRESENT) return undefined;
    return {
      candidates: (candidates.value?.stringListValue?.values ?? []).map(String),
      scores: (scores?.value?.doubleListValue?.values ?? []).map(Number),
      commonConnections: (common?.value?.int64ListValue?.values ?? []).map(Number),
      computedAt: candidates.eventTimestamp,
    };
  }

  onApplicationShutdown(): void {
    this.storage.close();
    this.features.close();
  }
}
