import type { OnApplicationShutdown } from '@nestjs/common';
import { featuresV1, millisToTimestamp } from '@pulse/contracts';
import { PeerClient } from '@pulse/platform';
import type { FeatureValueOf } from '../jobs/job-definition';

/** One entity's features, as a job exports them. */
export interface FeatureRow {
  joinKeys: Record<string, { stringValue: string }>;
  features: Record<string, FeatureValueOf>;
}

/** Where jobs push rows: a feature view's online store. */
export abstract class FeaturePusher {
  /** Writes rows to a feature view (online), all with one event time; returns the rows the store took. */
  abstract push(featureView: string, rows: readonly FeatureRow[], eventTimeMs: number): Promise<number>;
  abstract close(): void;
}

/** Push through pulse.features.v1.FeaturesService/Push of the feature store (a peer: deadline, retries, breaker). */
export class GrpcFeaturePusher extends FeaturePusher implements OnApplicationShutdown {
  constructor(private readonly peer: PeerClient) {
    super();
  }

  async push(featureView: string, rows: readonly FeatureRow[], eventTimeMs: number): Promise<number> {
    const eventTimestamp = millisToTimestamp(eventTimeMs);
    // Idempotent: the online store skips a row whose values and event time it already holds.
    const response = await this.peer.call<{ onlineRows: number }>(
      'Push',
      {
        featureView,
        mode: featuresV1.PushMode.PUSH_MODE_ONLINE,
        rows: rows.map((r) => ({ joinKeys: r.joinKeys, features: r.features, eventTimestamp })),
      },
      { idempotent: true },
    );
    return Number(response.onlineRows);
  }

  close(): void {
    this.peer.close();
  }

  onApplicationShutdown(): void {
    this.close();
  }
}
