import type { ItemText } from '../content/item-texts';
import type { IdMap } from '../data/id-map';
import type { Interactions, UserItems } from '../data/interactions';
import { itemCounts, userItems } from '../data/interactions';
import type { LinearFactors } from '../live/fold-in';

export const MODEL_NAMES = [
  'itempop',
  'itemknn',
  'mf',
  'gmf',
  'mlp',
  'neumf',
  'ease',
  'ials',
  'bpr',
  'content',
  'hybrid',
  'sasrec',
  'ensemble',
] as const;
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
  /** Every user's interactions in time order (ties: file order), repeats included: what sequence models learn from. */
  sequences: UserSequences;
  /** The external item ids of the indices (content models look up item texts by id). */
  itemIds?: IdMap;
}

/** Per-user item sequences (CSR): user u's items in time order are `items.subarray(offsets[u], offsets[u + 1])`. */
export interface UserSequences {
  offsets: Int32Array;
  items: Int32Array;
  /** Seconds since the epoch of each entry of `items`. */
  timestamps: Float64Array;
}

/** The interactions of every user in time order (ties keep the rows' order). */
export function userSequences(data: Interactions, numUsers = data.userIds.size): UserSequences {
  const order = Int32Array.from({ length: data.users.length }, (_, k) => k);
  order.sort((a, b) => data.users[a] - data.users[b] || data.timestamps[a] - data.timestamps[b] || a - b);
  const offsets = new Int32Array(numUsers + 1);
  for (let k = 0; k < data.users.length; k++) offsets[data.users[k] + 1]++;
  for (let u = 0; u < numUsers; u++) offsets[u + 1] += offsets[u];
  return {
    offsets,
    items: Int32Array.from(order, (r) => data.items[r]),
    timestamps: Float64Array.from(order, (r) => data.timestamps[r]),
  };
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
    sequences: userSequences(train),
    itemIds: train.itemIds,
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
  /**
   * Sequence models: the scores of every item as the next one after `recent` (item indices, oldest first), for
   * a user the model has not seen or whose latest actions came after training (serving passes the user's recent
   * items from the live state).
   */
  scoreSequence?(recent: readonly number[]): Float32Array;
  /**
   * Content models: the scores for `user` (-1: unknown) of items described only by text, e.g. posts written after
   * training (`postText` of src/content/item-texts.ts); the model embeds them as it embeds its own items.
   */
  scoreNewItems?(user: number, items: readonly ItemText[]): Float32Array;
  /** Items most similar to `item`, with their similarity, best first. */
  similarItems(item: number, k: number): { items: Int32Array; scores: Float32Array };
  /** Writes the model into `dir` (TF.js model files for the neural models). */
  save(dir: string): Promise<void>;
  dispose(): void;
}
