import { millisToTimestamp, type recsV1, Topics } from '@pulse/contracts';
import type { EventProducer } from '@pulse/platform';

/** The record key of every ModelPromoted: the compacted topic keeps the latest promotion. */
export const PROMOTED_KEY = 'promoted';

/** A change of the promoted version, as the registry made it. */
export interface Promotion {
  version: string;
  /** The version it replaced (null or empty: none). */
  previous: string | null;
  rollback: boolean;
  reason: string;
  /** When it took effect, ISO 8601 (PromotionState.promotedAt). */
  at: string;
}

export function modelPromoted(p: Promotion): recsV1.ModelPromoted {
  const at = Date.parse(p.at);
  return {
    version: p.version,
    previousVersion: p.previous ?? '',
    rollback: p.rollback,
    reason: p.reason,
    promotedAt: millisToTimestamp(Number.isFinite(at) ? at : Date.now()),
  };
}

/** Publishes a promotion on pulse.recs.model.v1, so every serving replica reloads at once. */
export function publishPromotion(producer: EventProducer, promotion: Promotion): Promise<void> {
  return producer.send(Topics.recsModel, [{ key: PROMOTED_KEY, value: modelPromoted(promotion) }]);
}
