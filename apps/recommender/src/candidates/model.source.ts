import { decay } from '../live/action-weights';
import { type FoldInObservation, foldInUser } from '../live/fold-in';
import type { RecentAction } from '../live/user-state.redis.repository';
import { topK } from '../eval/metrics';
import type { LoadedModel } from '../registry/model-registry';
import type { ItemSet } from './item-set';
import type { ScoringThreads } from './scoring-threads';

/** The logit a folded-in user vector should give a post the user engaged with (negated for a hidden one). */
const TARGET_LOGIT = 4;
/** Recent posts used for item-to-item scoring, and neighbours read per post. */
const ITEM_TO_ITEM_SEEDS = 20;
const NEIGHBOURS = 100;

export interface ModelCandidates {
  /** Item indices, best first, with their scores. */
  items: { index: number; score: number }[];
  /** How the user was represented: the trained vector, one folded in from recent actions, item-to-item, or none. */
  representation: 'trained' | 'fold-in' | 'item-to-item' | 'none';
}

/** The user's recent actions on items the model knows, weighted by type and decayed by age. */
export function observations(
  loaded: LoadedModel,
  recent: readonly RecentAction[],
  weights: Readonly<Record<string, number>>,
  halfLifeMs: number,
  nowMs: number,
): FoldInObservation[] {
  const byItem = new Map<number, number>();
  for (const a of recent) {
    if (a.target !== 'POST') continue;
    const item = loaded.items.get(a.targetId);
    const w = weights[a.type];
    if (item === undefined || !w) continue;
    byItem.set(item, (byItem.get(item) ?? 0) + w * decay(nowMs - a.atMs, halfLifeMs));
  }
  return [...byItem].map(([item, w]) => ({ item, target: Math.sign(w) * TARGET_LOGIT, weight: Math.abs(w) }));
}

/**
 * The model's candidates for a user, seeing what they did seconds ago: for MF/GMF-like models their vector is
 * folded in from their recent actions (towards the trained vector, or from nothing for a user the model never
 * saw) and the catalogue scored on a scoring thread; for the others a known user is scored as trained and an
 * unknown one item-to-item from recent posts.
 */
export async function modelCandidates(
  loaded: LoadedModel,
  userId: string,
  recent: readonly RecentAction[],
  options: {
    weights: Readonly<Record<string, number>>;
    halfLifeMs: number;
    lambda: number;
    /** Weight of the fold-in's prior on the scores of all items (foldInUser's γ). */
    gramianWeight?: number;
    limit: number;
    nowMs: number;
    /** The model items left out. */
    skip?: ItemSet;
    scoring: ScoringThreads;
  },
): Promise<ModelCandidates> {
  const user = loaded.users.get(userId);
  const obs = observations(loaded, recent, options.weights, options.halfLifeMs, options.nowMs);
  const factors = loaded.model.linearFactors?.();
  if (factors && obs.length > 0) {
    const query = foldInUser(
      factors,
      obs,
      options.lambda,
      user === undefined ? undefined : factors.userVector(user),
      options.gramianWeight,
    );
    return {
      items: await options.scoring.top(factors, query, options.limit, options.skip),
      representation: 'fold-in',
    };
  }
  if (factors && user !== undefined) {
    const items = await options.scoring.top(factors, factors.userVector(user), options.limit, options.skip);
    return { items, representation: 'trained' };
  }
  let scores: Float32Array | undefined;
  let representation: ModelCandidates['representation'] = 'none';
  if (user !== undefined) {
    scores = loaded.model.scoreUser(user);
    representation = 'trained';
  } else {
    const positives = obs
      .filter((o) => o.target > 0)
      .sort((a, b) => b.weight - a.weight)
      .slice(0, ITEM_TO_ITEM_SEEDS);
    if (positives.length > 0) {
      scores = new Float32Array(loaded.items.size);
      for (const o of positives) {
        const similar = loaded.model.similarItems(o.item, Math.min(NEIGHBOURS, loaded.items.size - 1));
        for (let n = 0; n < similar.items.length; n++) scores[similar.items[n]] += o.weight * similar.scores[n];
      }
      representation = 'item-to-item';
    }
  }
  if (!scores) return { items: [], representation };
  const picked = topK(scores, options.limit, options.skip?.has);
  return { items: picked.map((index) => ({ index, score: scores[index] })), representation };
}
