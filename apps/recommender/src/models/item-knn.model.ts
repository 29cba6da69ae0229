import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FitResult, Recommender, TrainingData } from './model';
import { scorePairsByUser } from './model-files';

/**
 * Item-based collaborative filtering: item–item cosine similarity over the users who interacted, the
 * `neighbours` most similar items kept per item; a user's score for item i is the sum of the similarities
 * of i to the items the user has (Deshpande & Karypis 2004).
 */
export class ItemKnnModel implements Recommender {
  readonly name = 'itemknn' as const;
  private numItems = 0;
  private neighbours = new Int32Array(0);
  private sims = new Float32Array(0);
  private byUser: TrainingData['byUser'] = { offsets: new Int32Array(1), items: new Int32Array(0) };

  constructor(private readonly k = 50) {}

  async fit(data: TrainingData): Promise<FitResult> {
    const started = performance.now();
    const { numItems, numUsers, byUser } = data;
    const K = Math.min(this.k, Math.max(numItems - 1, 1));
    // Users per item (CSR).
    const degree = new Int32Array(numItems);
    for (const i of byUser.items) degree[i]++;
    const itemOffsets = new Int32Array(numItems + 1);
    for (let i = 0; i < numItems; i++) itemOffsets[i + 1] = itemOffsets[i] + degree[i];
    const itemUsers = new Int32Array(itemOffsets[numItems]);
    const fill = itemOffsets.slice(0, numItems);
    for (let u = 0; u < numUsers; u++) {
      for (let p = byUser.offsets[u]; p < byUser.offsets[u + 1]; p++) itemUsers[fill[byUser.items[p]]++] = u;
    }
    this.neighbours = new Int32Array(numItems * K).fill(-1);
    this.sims = new Float32Array(numItems * K);
    const co = new Float32Array(numItems);
    const touched = new Int32Array(numItems);
    for (let i = 0; i < numItems; i++) {
      let nTouched = 0;
      for (let p = itemOffsets[i]; p < itemOffsets[i + 1]; p++) {
        const u = itemUsers[p];
        for (let q = byUser.offsets[u]; q < byUser.offsets[u + 1]; q++) {
          const j = byUser.items[q];
          if (j === i) continue;
          if (co[j] === 0) touched[nTouched++] = j;
          co[j] += 1;
        }
      }
      // Keep the K largest cosines (a small insertion-sorted buffer).
      const base = i * K;
      let filled = 0;
      for (let t = 0; t < nTouched; t++) {
        const j = touched[t];
        const sim = co[j] / Math.sqrt(degree[i] * degree[j]);
        co[j] = 0;
        if (filled === K && sim <= this.sims[base + K - 1]) continue;
        let pos = filled < K ? filled++ : K - 1;
        while (pos > 0 && this.sims[base + pos - 1] < sim) {
          this.sims[base + pos] = this.sims[base + pos - 1];
          this.neighbours[base + pos] = this.neighbours[base + pos - 1];
          pos--;
        }
        this.sims[base + pos] = sim;
        this.neighbours[base + pos] = j;
      }
    }
    this.numItems = numItems;
    this.byUser = byUser;
    const seconds = (performance.now() - started) / 1000;
    // Not trained by gradient steps: no samples/s to report.
    return { epochs: 1, samples: data.users.length, seconds, samplesPerSecond: 0, losses: [] };
  }

  private get K(): number {
    return this.numItems === 0 ? 0 : this.neighbours.length / this.numItems;
  }

  scoreUser(user: number): Float32Array {
    const scores = new Float32Array(this.numItems);
    const K = this.K;
    if (user < 0 || user + 1 >= this.byUser.offsets.length) return scores;
    for (let p = this.byUser.offsets[user]; p < this.byUser.offsets[user + 1]; p++) {
      const j = this.byUser.items[p];
      for (let n = j * K; n < (j + 1) * K; n++) {
        const i = this.neighbours[n];
        if (i >= 0) scores[i] += this.sims[n];
      }
    }
    return scores;
  }

  scorePairs(users: Int32Array, items: Int32Array): Float32Array {
    return scorePairsByUser((u) => this.scoreUser(u), users, items);
  }

  similarItems(item: number, k: number): { items: Int32Array; scores: Float32Array } {
    const K = this.K;
    const items: number[] = [];
    const scores: number[] = [];
    for (let n = item * K; n < (item + 1) * K && items.length < k; n++) {
      if (this.neighbours[n] < 0) break;
      items.push(this.neighbours[n]);
      scores.push(this.sims[n]);
    }
    return { items: Int32Array.from(items), scores: Float32Array.from(scores) };
  }

  async save(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'itemknn.neighbours.bin'),
      Buffer.from(this.neighbours.buffer, this.neighbours.byteOffset, this.neighbours.byteLength),
    );
    writeFileSync(join(dir, 'itemknn.sims.bin'), Buffer.from(this.sims.buffer, this.sims.byteOffset, this.sims.byteLength));
    writeFileSync(
      join(dir, 'itemknn.user-items.bin'),
      Buffer.from(this.byUser.items.buffer, this.byUser.items.byteOffset, this.byUser.items.byteLength),
    );
    writeFileSync(
      join(dir, 'itemknn.json'),
      JSON.stringify({ numItems: this.numItems, k: this.k, offsets: Array.from(this.byUser.offsets) }),
    );
  }

  static load(dir: string): ItemKnnModel {
    const meta = JSON.parse(readFileSync(join(dir, 'itemknn.json'), 'utf8')) as { numItems: number; k: number; offsets: number[] };
    const model = new ItemKnnModel(meta.k);
    const read = (name: string) => {
      const b = readFileSync(join(dir, name));
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    };
    model.numItems = meta.numItems;
    model.neighbours = new Int32Array(read('itemknn.neighbours.bin'));
    model.sims = new Float32Array(read('itemknn.sims.bin'));
    model.byUser = { offsets: Int32Array.from(meta.offsets), items: new Int32Array(read('itemknn.user-items.bin')) };
    return model;
  }

  dispose(): void {
    // Plain arrays only: nothing to release.
  }
}
