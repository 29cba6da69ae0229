import { recsV1 } from '@pulse/contracts';
import type { UnaryClient } from '@pulse/platform';
import type { SimulatorMetrics } from '../simulator/simulator.metrics';
import { callWithRetry } from './peer-call';

/** A recommendation list as a session uses it. */
export interface RecommendationList {
  recommendationId: string;
  /** `STRATEGY_PERSONALIZED`, `STRATEGY_POPULAR_FALLBACK`, ... */
  strategy: string;
  /** Post ids, best first. */
  itemIds: string[];
}

/** After a failed call, calls are skipped (sessions browse) for this long: a down recommender costs no waiting. */
const OPEN_MS = 5_000;

/** The home feed of a user from the recommender (`pulse.recs.v1.RecsService/Recommend`). */
export class RecsClient {
  private openUntil = 0;

  constructor(
    private readonly client: UnaryClient,
    private readonly deadlineMs: number,
    private readonly metrics: SimulatorMetrics,
  ) {}

  /**
   * Up to `numResults` items the user has not seen, for the home feed. Retried once when the recommender is
   * unavailable or slow; undefined when it still fails (the session then browses instead), and for the next few
   * seconds without calling.
   */
  async homeFeed(userId: string, numResults: number): Promise<RecommendationList | undefined> {
    if (Date.now() < this.openUntil) return undefined;
    const request: recsV1.RecommendRequest = {
      userId,
      numResults,
      excludeSeen: true,
      filter: undefined,
      context: { surface: 'home_feed' },
      modelVersion: '',
    };
    try {
      const response = await callWithRetry(
        'recommender',
        () => this.client.call<recsV1.RecommendResponse>('Recommend', request, { deadlineMs: this.deadlineMs }),
        { attempts: 2, baseDelayMs: 100, maxDelayMs: 100 },
        this.metrics,
      );
      const strategy = recsV1.Strategy[response.strategy] ?? String(response.strategy);
      this.metrics.recommendationList(strategy);
      return { recommendationId: response.recommendationId, strategy, itemIds: (response.items ?? []).map((i) => i.itemId) };
    } catch {
      this.openUntil = Date.now() + OPEN_MS;
      return undefined;
    }
  }
}
