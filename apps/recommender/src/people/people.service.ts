import { Inject, Injectable } from '@nestjs/common';
import type { recsV1 } from '@pulse/contracts';
import { ERASURE_LIST, type ErasureList, errorMessage, grpcErrors } from '@pulse/platform';
import { Peers } from '../candidates/peers';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from '../config/recommender.config';
import { validateId } from '../serving/recs.service';

/** The longest list the analytics job computes per user (feature_repo/pymk.yaml). */
const MAX_PEOPLE = 20;
/** Accounts the user follows that are read to drop them from the list (newest follows first). */
const FOLLOWING_CHECKED = 1_000;

/**
 * People you may know: the list the analytics service computes daily on Spark (friends of friends through the user's
 * circle of trust, blocked pairs left out) and pushes to the feature store's user_pymk view, served as it is minus
 * what changed since: the accounts the user follows now and users blocked either way now (storage), and erased users
 * (the erasure list). Each source has the recommender's per-source budget; a list without storage's answer says so in
 * `degraded` — and without the blocks, it is not served (a block must hold whatever the latency).
 */
@Injectable()
export class PeopleService {
  constructor(
    private readonly peers: Peers,
    @Inject(ERASURE_LIST) private readonly erased: ErasureList,
    @Inject(RECOMMENDER_CONFIG) private readonly config: RecommenderConfig,
  ) {}

  async recommendUsers(request: recsV1.RecommendUsersRequest): Promise<recsV1.RecommendUsersResponse> {
    validateId('user_id', request.userId);
    const wanted = request.numResults || 10;
    if (wanted > MAX_PEOPLE) throw grpcErrors.invalidArgument('num_results', `at most ${MAX_PEOPLE}`);
    const budget = this.config.RECS_SOURCE_BUDGET;
    const degraded: recsV1.DegradedSource[] = [];
    const [list, following, blocked] = await Promise.all([
      this.peers.peopleYouMayKnow(request.userId, budget).catch((error: unknown) => {
        degraded.push({ dependency: 'feature-store', reason: errorMessage(error) });
        return null;
      }),
      this.peers.following(request.userId, FOLLOWING_CHECKED, budget).catch((error: unknown) => {
        degraded.push({ dependency: 'storage', reason: errorMessage(error) });
        return [] as string[];
      }),
      this.peers.blocked(request.userId, budget).catch((error: unknown) => {
        degraded.push({ dependency: 'storage', reason: `blocks: ${errorMessage(error)}` });
        return null;
      }),
    ]);
    if (list === null) return { users: [], computedAt: undefined, fallbackReason: 'the feature store did not answer', degraded };
    if (blocked === null)
      return { users: [], computedAt: undefined, fallbackReason: 'storage did not say whom the user blocked or is blocked by', degraded };
    if (list === undefined)
      return {
        users: [],
        computedAt: undefined,
        fallbackReason: 'no list for this user yet: the analytics service computes people you may know daily',
        degraded,
      };
    const followed = new Set(following);
    const users = list.candidates
      .map((userId, n) => ({ userId, score: list.scores[n] ?? 0, commonConnections: list.commonConnections[n] ?? 0 }))
      .filter((u) => u.userId !== request.userId && !followed.has(u.userId) && !blocked.has(u.userId) && !this.erased.has(u.userId))
      .slice(0, wanted);
    const computedAt = list.computedAt && { seconds: Number(list.computedAt.seconds), nanos: list.computedAt.nanos };
    return { users, computedAt, fallbackReason: '', degraded };
  }
}
