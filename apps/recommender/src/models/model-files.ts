import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UserItems } from '../data/interactions';

/** Writes a typed array's bytes (little-endian, as the machine stores them). */
export function writeArray(path: string, array: Float32Array | Int32Array | Float64Array): void {
  writeFileSync(path, Buffer.from(array.buffer, array.byteOffset, array.byteLength));
}

function readBuffer(path: string): ArrayBuffer {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

export function readFloat32(path: string): Float32Array {
  return new Float32Array(readBuffer(path));
}

export function readInt32(path: string): Int32Array {
  return new Int32Array(readBuffer(path));
}

export function readFloat64(path: string): Float64Array {
  return new Float64Array(readBuffer(path));
}

/** Writes `value` as `<dir>/<name>.json`, creating `dir`. */
export function writeJson(dir: string, name: string, value: unknown): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(value));
}

export function readJson<T>(dir: string, name: string): T {
  return JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as T;
}

/** A model's copy of what each user interacted with in training (the models that score from a user's items). */
export function writeUserItems(dir: string, prefix: string, byUser: UserItems): void {
  writeArray(join(dir, `${prefix}.user-offsets.bin`), byUser.offsets);
  writeArray(join(dir, `${prefix}.user-items.bin`), byUser.items);
}

export function readUserItems(dir: string, prefix: string): UserItems {
  return { offsets: readInt32(join(dir, `${prefix}.user-offsets.bin`)), items: readInt32(join(dir, `${prefix}.user-items.bin`)) };
}

/** Scores of (user, item) pairs from a model that scores all items of a user at once; pairs grouped by user reuse a row. */
export function scorePairsByUser(scoreUser: (user: number) => Float32Array, users: Int32Array, items: Int32Array): Float32Array {
  const out = new Float32Array(users.length);
  let lastUser = -1;
  let row: Float32Array = new Float32Array(0);
  for (let k = 0; k < users.length; k++) {
    if (users[k] !== lastUser) {
      lastUser = users[k];
      row = scoreUser(lastUser);
    }
    out[k] = row[items[k]];
  }
  return out;
}

/** The `k` best entries of `scores` other than `except`, best first (similar items). */
export function topScored(scores: Float32Array, k: number, except: number): { items: Int32Array; scores: Float32Array } {
  const order = Array.from(scores.keys()).filter((i) => i !== except && Number.isFinite(scores[i]));
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  const top = order.slice(0, k);
  return { items: Int32Array.from(top), scores: Float32Array.from(top, (i) => scores[i]) };
}

/** What a fit that is not a run of gradient epochs reports (closed forms, counts). */
export function closedFormFit(
  samples: number,
  started: number,
): { epochs: number; samples: number; seconds: number; samplesPerSecond: number; losses: number[] } {
  return { epochs: 1, samples, seconds: (performance.now() - started) / 1000, samplesPerSecond: 0, losses: [] };
}
