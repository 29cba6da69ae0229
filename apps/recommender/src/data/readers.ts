import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { IdMap } from './id-map';
import { type Interactions, InteractionsBuilder } from './interactions';

/** A file format Pulse reads interactions from. */
export type SourceFormat = 'ml-csv' | 'ml-100k' | 'ml-1m' | 'ncf';

/**
 * `ratings.csv` of ml-latest (header `userId,movieId,rating,timestamp`), `u.data` of ML-100K (tab-separated
 * user, item, rating, timestamp), `ratings.dat` of ML-1M (`user::item::rating::timestamp`), or the NCF
 * paper's `<prefix>.train.rating` (tab-separated, 0-based ids). Detected from the name, then the first line.
 */
export async function detectFormat(path: string): Promise<SourceFormat> {
  if (!existsSync(path) && existsSync(`${path}.train.rating`)) return 'ncf';
  const name = basename(path);
  if (name.endsWith('.train.rating') || name.endsWith('.test.rating')) return 'ncf';
  if (name === 'u.data') return 'ml-100k';
  if (name.endsWith('.dat')) return 'ml-1m';
  if (name.endsWith('.csv')) return 'ml-csv';
  const first = await firstLine(path);
  if (first.includes('::')) return 'ml-1m';
  if (first.includes(',')) return 'ml-csv';
  if (first.includes('\t')) return 'ml-100k';
  throw new Error(`${path}: unknown interactions format (first line: ${JSON.stringify(first.slice(0, 80))})`);
}

/** Reads a MovieLens ratings file (any of the three formats) into interactions. */
export async function readMovieLens(path: string, format?: SourceFormat): Promise<Interactions> {
  if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`${path}: no such file`);
  const fmt = format ?? (await detectFormat(path));
  const builder = new InteractionsBuilder();
  let lineNo = 0;
  for await (const line of lines(path)) {
    lineNo++;
    if (line.length === 0) continue;
    let fields: string[];
    if (fmt === 'ml-csv') {
      if (lineNo === 1 && /^userId,/i.test(line)) continue;
      fields = line.split(',');
    } else if (fmt === 'ml-1m') {
      fields = line.split('::');
    } else {
      fields = line.split('\t');
    }
    if (fields.length < 3)
      throw new Error(`${path}:${lineNo}: expected user, item, rating[, timestamp], got ${JSON.stringify(line.slice(0, 80))}`);
    const rating = Number(fields[2]);
    const timestamp = fields.length > 3 ? Number(fields[3]) : 0;
    if (!Number.isFinite(rating) || !Number.isFinite(timestamp)) throw new Error(`${path}:${lineNo}: rating and timestamp must be numbers`);
    builder.add(fields[0].trim(), fields[1].trim(), rating, timestamp);
  }
  if (builder.length === 0) throw new Error(`${path}: no interactions`);
  return builder.build();
}

/** The NCF paper's files: training interactions, one held-out item per user and its sampled negatives. */
export interface NcfDataset {
  train: Interactions;
  /** Held-out item per user index, -1 when the user has none. */
  testItem: Int32Array;
  /** Sampled negative items per user index (empty when none). */
  negatives: Int32Array[];
  /** Rating and timestamp of each held-out interaction, when known (written to `.test.rating`). */
  testRating?: Float32Array;
  testTimestamp?: Float64Array;
}

/**
 * Reads `<prefix>.train.rating`, `<prefix>.test.rating` and `<prefix>.test.negative` (tab-separated, 0-based
 * ids; the negative file's lines are `(user,item)\tneg1\tneg2...`). Ids keep their numbers: index = id.
 */
export async function readNcf(prefix: string): Promise<NcfDataset> {
  const rows: [number, number, number, number][] = [];
  let maxUser = -1;
  let maxItem = -1;
  const parse = async (file: string, onRow: (u: number, i: number, r: number, t: number) => void) => {
    if (!existsSync(file)) throw new Error(`${file}: no such file`);
    let lineNo = 0;
    for await (const line of lines(file)) {
      lineNo++;
      if (!line) continue;
      const f = line.split('\t');
      const u = Number(f[0]);
      const i = Number(f[1]);
      if (!Number.isInteger(u) || !Number.isInteger(i) || u < 0 || i < 0)
        throw new Error(`${file}:${lineNo}: expected 0-based integer user and item ids`);
      maxUser = Math.max(maxUser, u);
      maxItem = Math.max(maxItem, i);
      onRow(u, i, f.length > 2 ? Number(f[2]) : 1, f.length > 3 ? Number(f[3]) : 0);
    }
  };
  await parse(`${prefix}.train.rating`, (u, i, r, t) => rows.push([u, i, r, t]));
  const tests: [number, number, number, number][] = [];
  await parse(`${prefix}.test.rating`, (u, i, r, t) => tests.push([u, i, r, t]));
  const negativeRows = new Map<number, number[]>();
  const negFile = `${prefix}.test.negative`;
  if (!existsSync(negFile)) throw new Error(`${negFile}: no such file`);
  let lineNo = 0;
  for await (const line of lines(negFile)) {
    lineNo++;
    if (!line) continue;
    const [head, ...rest] = line.split('\t');
    const match = /^\((\d+),(\d+)\)$/.exec(head.trim());
    if (!match) throw new Error(`${negFile}:${lineNo}: expected "(user,item)" then negative items`);
    const negs = rest.filter((s) => s.trim() !== '').map(Number);
    for (const n of negs) maxItem = Math.max(maxItem, n);
    negativeRows.set(Number(match[1]), negs);
  }
  const userIds = IdMap.from(Array.from({ length: maxUser + 1 }, (_, k) => String(k)));
  const itemIds = IdMap.from(Array.from({ length: maxItem + 1 }, (_, k) => String(k)));
  const builder = new InteractionsBuilder(userIds, itemIds);
  for (const [u, i, r, t] of rows) builder.add(String(u), String(i), r, t);
  const testItem = new Int32Array(userIds.size).fill(-1);
  const testRating = new Float32Array(userIds.size);
  const testTimestamp = new Float64Array(userIds.size);
  for (const [u, i, r, t] of tests) {
    testItem[u] = i;
    testRating[u] = r;
    testTimestamp[u] = t;
  }
  const negatives = Array.from({ length: userIds.size }, (_, u) => Int32Array.from(negativeRows.get(u) ?? []));
  return { train: builder.build(), testItem, negatives, testRating, testTimestamp };
}

async function* lines(path: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of rl) yield line;
}

async function firstLine(path: string): Promise<string> {
  for await (const line of lines(path)) return line;
  return '';
}
