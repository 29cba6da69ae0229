import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Rng } from '@pulse/platform';
import { type NcfDataset, readMovieLens } from '../data/readers';
import { leaveOneOut } from '../data/split';
import { type TrainingData, trainingData } from '../models/model';

/**
 * MovieLens-format interactions with structure a collaborative model can find and popularity cannot: users
 * belong to taste clusters and mostly pick items of their cluster, while a few globally popular items are
 * picked by everyone. Returns the `userId,movieId,rating,timestamp` CSV text.
 */
export function syntheticRatingsCsv(
  options: { users?: number; items?: number; clusters?: number; perUser?: number; seed?: number } = {},
): string {
  const users = options.users ?? 120;
  const items = options.items ?? 240;
  const clusters = options.clusters ?? 6;
  const perUser = options.perUser ?? 20;
  const rng = new Rng(options.seed ?? 7);
  const perCluster = Math.floor(items / clusters);
  const lines = ['userId,movieId,rating,timestamp'];
  for (let u = 0; u < users; u++) {
    const cluster = u % clusters;
    const chosen = new Set<number>();
    while (chosen.size < perUser) {
      const r = rng.next();
      // 80 %: an item of the user's cluster, skewed to its first items; 20 %: one of the 10 global hits.
      const item = r < 0.8 ? cluster * perCluster + Math.floor(perCluster * rng.next() ** 2) : items - 1 - rng.int(10);
      chosen.add(item);
    }
    let t = 1_600_000_000 + u * 1000;
    for (const item of chosen) lines.push(`u${u},m${item},${1 + rng.int(5)},${(t += 60)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function writeSyntheticRatings(path: string, options: Parameters<typeof syntheticRatingsCsv>[0] = {}): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, syntheticRatingsCsv(options));
  return path;
}

/**
 * The items of `syntheticRatingsCsv` as a MovieLens `movies.csv`: each item's genre is its taste cluster
 * (`c0`, `c1`, …; the last ten, the global hits, also `Hit`), its title ends in the year 2000 + cluster.
 */
export function syntheticMoviesCsv(options: { items?: number; clusters?: number } = {}): string {
  const items = options.items ?? 240;
  const clusters = options.clusters ?? 6;
  const perCluster = Math.floor(items / clusters);
  const lines = ['movieId,title,genres'];
  for (let i = 0; i < items; i++) {
    const cluster = Math.min(Math.floor(i / perCluster), clusters - 1);
    const genres = [`c${cluster}`, ...(i >= items - 10 ? ['Hit'] : [])];
    lines.push(`m${i},"Item ${i}, the movie (${2000 + cluster})",${genres.join('|')}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * MovieLens-format interactions in which order matters: every user walks a chain through the catalogue (after
 * item i usually comes item i + 1, sometimes a jump), one interaction a minute. The latest item of a user is
 * predictable from the one before it, not from the set of items: what a sequence model sees and the others do not.
 */
export function syntheticSequencesCsv(
  options: { users?: number; items?: number; perUser?: number; jump?: number; seed?: number } = {},
): string {
  const users = options.users ?? 100;
  const items = options.items ?? 200;
  const perUser = options.perUser ?? 20;
  const jump = options.jump ?? 0.1;
  const rng = new Rng(options.seed ?? 11);
  const lines = ['userId,movieId,rating,timestamp'];
  for (let u = 0; u < users; u++) {
    let item = rng.int(items);
    const seen = new Set<number>();
    let t = 1_600_000_000 + u * 10_000;
    while (seen.size < perUser) {
      if (!seen.has(item)) {
        seen.add(item);
        lines.push(`u${u},m${item},4,${(t += 60)}`);
      }
      item = rng.next() < jump ? rng.int(items) : (item + 1) % items;
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `csv` (MovieLens format) written into `dir`, split leave-one-out by time with 99 negatives, and its training data. */
export async function syntheticLeaveOneOut(dir: string, csv: string, seed = 5): Promise<{ split: NcfDataset; data: TrainingData }> {
  const path = join(dir, 'ratings.csv');
  writeFileSync(path, csv);
  const split = leaveOneOut(await readMovieLens(path), { seed });
  return { split, data: trainingData(split.train) };
}
