import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Interactions, sortedHas, subset, userItems } from './interactions';
import type { NcfDataset } from './readers';
import { Rng } from '@pulse/platform';

/**
 * Leave-one-out (He et al. 2017): each user's latest interaction is held out (ties: the later row in the
 * file), and `negatives` items the user never interacted with are sampled for it, seeded. Users with a
 * single interaction stay in training only. The result has the NCF file layout (see `writeNcf`).
 */
export function leaveOneOut(data: Interactions, options: { negatives?: number; seed?: number } = {}): NcfDataset {
  const numNegatives = options.negatives ?? 99;
  const rng = new Rng(options.seed ?? 42);
  const numUsers = data.userIds.size;
  const numItems = data.itemIds.size;
  const latest = new Int32Array(numUsers).fill(-1);
  const count = new Int32Array(numUsers);
  for (let k = 0; k < data.users.length; k++) {
    const u = data.users[k];
    count[u]++;
    if (latest[u] < 0 || data.timestamps[k] >= data.timestamps[latest[u]]) latest[u] = k;
  }
  const held = new Uint8Array(data.users.length);
  const testItem = new Int32Array(numUsers).fill(-1);
  const testRating = new Float32Array(numUsers);
  const testTimestamp = new Float64Array(numUsers);
  for (let u = 0; u < numUsers; u++) {
    if (count[u] < 2) continue;
    held[latest[u]] = 1;
    testItem[u] = data.items[latest[u]];
    testRating[u] = data.ratings[latest[u]];
    testTimestamp[u] = data.timestamps[latest[u]];
  }
  const keep: number[] = [];
  for (let k = 0; k < held.length; k++) if (!held[k]) keep.push(k);
  const all = userItems(data, numUsers);
  const negatives: Int32Array[] = [];
  for (let u = 0; u < numUsers; u++) {
    if (testItem[u] < 0) {
      negatives.push(new Int32Array(0));
      continue;
    }
    const seen = all.items.subarray(all.offsets[u], all.offsets[u + 1]);
    const available = numItems - seen.length;
    const n = Math.min(numNegatives, available);
    const chosen = new Set<number>();
    while (chosen.size < n) {
      const j = rng.int(numItems);
      if (!sortedHas(seen, j)) chosen.add(j);
    }
    negatives.push(Int32Array.from(chosen));
  }
  return { train: subset(data, keep), testItem, negatives, testRating, testTimestamp };
}

/**
 * A validation hold-out inside a training set: leave-one-out again, so hyperparameters are chosen without
 * looking at the test items.
 */
export function validationSplit(train: Interactions, options: { negatives?: number; seed?: number } = {}): NcfDataset {
  return leaveOneOut(train, { negatives: options.negatives ?? 99, seed: (options.seed ?? 42) + 1 });
}

/** A train/test split by percentage: `temporal` holds out the latest `testFraction` of all rows, `random` a seeded sample. */
export function percentageSplit(
  data: Interactions,
  options: { testFraction?: number; mode?: 'temporal' | 'random'; seed?: number } = {},
): { train: Interactions; test: Interactions } {
  const fraction = options.testFraction ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) throw new RangeError('testFraction must be in (0, 1)');
  const order = Int32Array.from({ length: data.users.length }, (_, k) => k);
  if ((options.mode ?? 'temporal') === 'temporal') {
    order.sort((a, b) => data.timestamps[a] - data.timestamps[b] || a - b);
  } else {
    new Rng(options.seed ?? 42).shuffle(order);
  }
  const cut = Math.round(order.length * (1 - fraction));
  return { train: subset(data, order.subarray(0, cut)), test: subset(data, order.subarray(cut)) };
}

/** `k` seeded folds of the rows: fold f is the test set of the f-th (train, test) pair. */
export function kFold(data: Interactions, k: number, seed = 42): { train: Interactions; test: Interactions }[] {
  if (!Number.isInteger(k) || k < 2) throw new RangeError('k must be an integer >= 2');
  const order = Int32Array.from({ length: data.users.length }, (_, i) => i);
  new Rng(seed).shuffle(order);
  return Array.from({ length: k }, (_, f) => {
    const test: number[] = [];
    const train: number[] = [];
    order.forEach((row, pos) => (pos % k === f ? test : train).push(row));
    return { train: subset(data, train), test: subset(data, test) };
  });
}

/**
 * Writes the NCF paper's three files under `prefix` (`.train.rating`, `.test.rating`, `.test.negative`), with
 * the dense indices as ids, so another implementation can run on exactly this split.
 */
export function writeNcf(prefix: string, split: NcfDataset): void {
  mkdirSync(dirname(prefix), { recursive: true });
  const { train } = split;
  const trainLines: string[] = [];
  for (let k = 0; k < train.users.length; k++) {
    trainLines.push(`${train.users[k]}\t${train.items[k]}\t${train.ratings[k]}\t${train.timestamps[k]}`);
  }
  const testLines: string[] = [];
  const negLines: string[] = [];
  split.testItem.forEach((item, u) => {
    if (item < 0) return;
    testLines.push(`${u}\t${item}\t${split.testRating?.[u] ?? 1}\t${split.testTimestamp?.[u] ?? 0}`);
    negLines.push(`(${u},${item})\t${Array.from(split.negatives[u]).join('\t')}`);
  });
  writeFileSync(`${prefix}.train.rating`, trainLines.join('\n') + '\n');
  writeFileSync(`${prefix}.test.rating`, testLines.join('\n') + '\n');
  writeFileSync(`${prefix}.test.negative`, negLines.join('\n') + '\n');
}
