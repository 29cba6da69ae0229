import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FitResult, Recommender, TrainingData } from './model';

/** Popularity: every user gets the items with the most interactions. The baseline every model must beat. */
export class ItemPopModel implements Recommender {
  readonly name = 'itempop' as const;
  private counts = new Float32Array(0);

  async fit(data: TrainingData): Promise<FitResult> {
    const started = performance.now();
    this.counts = Float32Array.from(data.popularity);
    const seconds = (performance.now() - started) / 1000;
    // Not trained by gradient steps: no samples/s to report.
    return { epochs: 1, samples: data.users.length, seconds, samplesPerSecond: 0, losses: [] };
  }

  scorePairs(_users: Int32Array, items: Int32Array): Float32Array {
    return Float32Array.from(items, (i) => this.counts[i]);
  }

  scoreUser(): Float32Array {
    return this.counts;
  }

  similarItems(item: number, k: number): { items: Int32Array; scores: Float32Array } {
    const order = Array.from(this.counts.keys()).filter((i) => i !== item);
    order.sort((a, b) => this.counts[b] - this.counts[a] || a - b);
    const top = order.slice(0, k);
    return { items: Int32Array.from(top), scores: Float32Array.from(top, (i) => this.counts[i]) };
  }

  async save(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'itempop.json'), JSON.stringify({ counts: Array.from(this.counts) }));
  }

  static load(dir: string): ItemPopModel {
    const model = new ItemPopModel();
    model.counts = Float32Array.from((JSON.parse(readFileSync(join(dir, 'itempop.json'), 'utf8')) as { counts: number[] }).counts);
    return model;
  }

  dispose(): void {
    // Plain arrays only: nothing to release.
  }
}
