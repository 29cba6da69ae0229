import { Rng } from '@pulse/platform';
import { type Interactions, sortedHas, subset, userItems } from '../data/interactions';
import type { NcfDataset } from '../data/readers';
import { type TrainingData, trainingData } from '../models/model';

/** A cold-start split: some items held out entirely, and per user one of them to find among other held-out items. */
export interface ColdStartSplit extends NcfDataset {
  /** Training data without any interaction of the held-out items. */
  trainData: TrainingData;
  coldItems: Int32Array;
  /** How often each held-out item occurs in the held-out interactions (what popularity would need and serving lacks). */
  heldOutCounts: Float32Array;
}

/**
 * Holds out `fraction` of the items with interactions entirely: none of their interactions is in training, as
 * for items created after the model was trained. Each user who interacted with a held-out item gets one of
 * them (their latest) as the test item, ranked among `negatives` held-out items they did not interact with
 * (1 + N over new items only: the question is which new item a user will like). Item ids keep their indices,
 * so a content model still has the held-out items' texts — and only those texts.
 */
export function coldStartSplit(data: Interactions, options: { fraction?: number; negatives?: number; seed?: number } = {}): ColdStartSplit {
  const fraction = options.fraction ?? 0.1;
  const rng = new Rng(options.seed ?? 42);
  const numItems = data.itemIds.size;
  const numUsers = data.userIds.size;
  const withInteractions = Int32Array.from(new Set(data.items)).sort();
  rng.shuffle(withInteractions);
  const coldItems = withInteractions.slice(0, Math.max(1, Math.round(withInteractions.length * fraction))).sort();
  const isCold = new Uint8Array(numItems);
  for (const i of coldItems) isCold[i] = 1;
  const keep: number[] = [];
  const latestCold = new Int32Array(numUsers).fill(-1);
  const heldOutCounts = new Float32Array(numItems);
  for (let r = 0; r < data.users.length; r++) {
    const u = data.users[r];
    if (!isCold[data.items[r]]) {
      keep.push(r);
      continue;
    }
    heldOutCounts[data.items[r]]++;
    if (latestCold[u] < 0 || data.timestamps[r] >= data.timestamps[latestCold[u]]) latestCold[u] = r;
  }
  const train = subset(data, keep);
  const all = userItems(data, numUsers);
  const testItem = new Int32Array(numUsers).fill(-1);
  const negatives: Int32Array[] = [];
  for (let u = 0; u < numUsers; u++) {
    if (latestCold[u] < 0) {
      negatives.push(new Int32Array(0));
      continue;
    }
    testItem[u] = data.items[latestCold[u]];
    const seen = all.items.subarray(all.offsets[u], all.offsets[u + 1]);
    const pool = Array.from(coldItems).filter((i) => !sortedHas(seen, i));
    rng.shuffle(pool);
    negatives.push(Int32Array.from(pool.slice(0, options.negatives ?? 99)));
  }
  return { train, trainData: trainingData(train), testItem, negatives, coldItems, heldOutCounts };
}
