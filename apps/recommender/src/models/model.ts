import type { Interactions, UserItems } from '../data/interactions';
import { itemCounts, userItems } from '../data/interactions';
import type { LinearFactors } from '../live/fold-in';

export const MODEL_NAMES = ['itempop', 'itemknn', 'mf', 'gmf', 'mlp', 'neumf'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** Training data as every model sees it: dense indices, implicit feedback, the sizes of the id spaces. */
export interface TrainingData {
  numUsers: number;
  numItems: number;
  /** Distinct (user, item) positives. */
  users: Int32Array;
  items: Int32Array;
  /** The same positives per user, sorted (negative sampling, exclude-seen). */
  byUser: UserItems;
  /** Interactions per item, repeats included (popularity). */
  popularity: Float32Array;
}

export function trainingData(train: Interactions): TrainingData {
  const byUser = userItems(train);
  const n = byUser.items.length;
  const users = new Int32Array(n);
  for (let u = 0; u + 1 < byUser.offsets.length; u++) users.fill(u, byUser.offsets[u], byUser.offsets[u + 1]);
  return {
    numUsers: train.userIds.size,
    numItems: train.itemIds.size,
    users,
    items: byUser.items,
    byUser,
    popularity: itemCounts(train),
  };
}

/** Progress of one training epoch, for progress bars and the per-epoch curves of the report. */
export interface EpochReport {
  epoch: number;
  epochs: number;
  loss: number;
  samples: number;
  seconds: number;
}

export interface FitHooks {
  /** After each batch (done / total batches of the epoch); throttled by the caller. */
  onBatch?: (epoch: number, batch: number, batches: number, loss: number) => void;
  /** After each epoch; may evaluate the model as it is. */
  onEpoch?: (report: EpochReport) => void | Promise<void>;
}

export interface FitResult {
  epochs: number;
  samples: number;
  seconds: number;
  /** Training samples per second (positives and sampled negatives), over all epochs. */
  samplesPerSecond: number;
  losses: number[];
}

/** Every recommender: trained on implicit feedback, scores (user, item) pairs, higher is better. */
export interface Recommender {
  readonly name: ModelName;
  fit(data: TrainingData, hooks?: FitHooks): Promise<FitResult>;
  /** Scores of `items[k]` for `users[k]`. */
  scorePairs(users: Int32Array, items: Int32Array): Float32Array;
  /** Scores of every item for one user (index = item). */
  scoreUser(user: number): Float32Array;
  /**
   * The user and item vectors of a model whose score is linear in the user's vector (MF, GMF), for folding in a
   * user's recent actions at serving time; undefined for the others (their users' fresh actions go through
   * item-to-item similarity instead).
   */
  linearFactors?(): LinearFactors | undefined;
  /** Items most similar to `item`, with their similarity, best first. */
  similarItems(item: number, k: number): { items: Int32Array; scores: Float32Array };
  /** Writes the model into `dir` (TF.js model files for the neural models). */
  save(dir: string): Promise<void>;
  dispose(): void;
}
