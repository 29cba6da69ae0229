import { Inject, Injectable } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVACY_CONFIG, type PrivacyConfig } from '../config/privacy.config';
import type { EraseOutcome, StoreEraser, Subject } from '../erasure/erasure.model';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

interface ModelJson {
  weightsManifest?: { paths: string[]; weights: WeightSpec[] }[];
}

/**
 * The user in every stored version of the recommender's model registry (PRIVACY_MODELS_DIR, the volume of
 * RECS_MODELS_DIR; the layout of apps/recommender/src/registry): the id in `ids.json` becomes `~erased-<index>` (not
 * a user id anyone can ask for), the user's rows of the user embeddings of a TF.js model (`model/model.json` +
 * weights, weights named `user*` with a row per user) become zeros, and the user's seen items leave
 * `seen.offsets.bin` / `seen.items.bin`. Indices stay, so every version still loads and serves the other users as
 * before. Each file is replaced by a rename of a complete one. Serving already refuses the user (the erasure list);
 * the next training leaves them out (`recs train --exclude-erased`).
 */
@Injectable()
export class ModelsEraser implements StoreEraser {
  readonly store = 'models' as const;

  constructor(@Inject(PRIVACY_CONFIG) private readonly config: PrivacyConfig) {}

  async erase(subject: Subject): Promise<EraseOutcome> {
    const root = join(this.config.PRIVACY_MODELS_DIR, 'versions');
    const counts = { versions: 0, embedding_rows: 0, seen_items: 0 };
    if (!this.config.PRIVACY_MODELS_DIR || !existsSync(root)) return { counts };
    for (const version of await readdir(root)) {
      if (version.startsWith('.')) continue;
      const dir = join(root, version);
      const idsPath = join(dir, 'ids.json');
      if (!existsSync(idsPath)) continue;
      const ids = JSON.parse(await readFile(idsPath, 'utf8')) as { users: string[]; items: string[] };
      const index = ids.users.indexOf(subject.userId);
      if (index < 0) continue;
      counts.embedding_rows += await zeroUserRows(join(dir, 'model'), index, ids.users.length);
      counts.seen_items += await dropSeen(dir, index);
      ids.users[index] = `~erased-${index}`;
      await replace(idsPath, JSON.stringify(ids));
      counts.versions++;
    }
    return { counts };
  }
}

/** Zeroes row `index` of every user-embedding weight of a TF.js model; returns the rows zeroed. */
async function zeroUserRows(modelDir: string, index: number, users: number): Promise<number> {
  const manifestPath = join(modelDir, 'model.json');
  if (!existsSync(manifestPath)) return 0;
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ModelJson;
  let rows = 0;
  for (const group of manifest.weightsManifest ?? []) {
    const parts = await Promise.all(group.paths.map((p) => readFile(join(modelDir, p))));
    const data = Buffer.concat(parts);
    let offset = 0;
    for (const w of group.weights) {
      const bytesPer = w.dtype === 'float32' || w.dtype === 'int32' ? 4 : w.dtype === 'bool' ? 1 : 4;
      const size = w.shape.reduce((a, b) => a * b, 1) * bytesPer;
      if (w.name.startsWith('user') && w.shape[0] === users && w.dtype === 'float32') {
        const rowBytes = size / users;
        data.fill(0, offset + index * rowBytes, offset + (index + 1) * rowBytes);
        rows++;
      }
      offset += size;
    }
    let at = 0;
    for (let i = 0; i < group.paths.length; i++) {
      await replace(join(modelDir, group.paths[i]), data.subarray(at, at + parts[i].length));
      at += parts[i].length;
    }
  }
  return rows;
}

/** Removes user `index`'s items from the seen lists (CSR of int32): the other users' lists stay as they were. */
async function dropSeen(dir: string, index: number): Promise<number> {
  const offsetsPath = join(dir, 'seen.offsets.bin');
  const itemsPath = join(dir, 'seen.items.bin');
  if (!existsSync(offsetsPath) || !existsSync(itemsPath)) return 0;
  const offsetsBuf = await readFile(offsetsPath);
  const itemsBuf = await readFile(itemsPath);
  const offsets = new Int32Array(offsetsBuf.buffer, offsetsBuf.byteOffset, offsetsBuf.byteLength / 4);
  const items = new Int32Array(itemsBuf.buffer, itemsBuf.byteOffset, itemsBuf.byteLength / 4);
  const from = offsets[index];
  const to = offsets[index + 1];
  const removed = to - from;
  if (!(removed > 0)) return 0;
  const keptItems = new Int32Array(items.length - removed);
  keptItems.set(items.subarray(0, from));
  keptItems.set(items.subarray(to), from);
  const keptOffsets = Int32Array.from(offsets, (o, i) => (i > index ? o - removed : o));
  await replace(itemsPath, Buffer.from(keptItems.buffer));
  await replace(offsetsPath, Buffer.from(keptOffsets.buffer));
  return removed;
}

async function replace(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}.erasing`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
