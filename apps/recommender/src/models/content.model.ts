import { join } from 'node:path';
import { type CatalogueVectors, catalogueVectors, denseRow, itemTextsFor, newItemVectors, sparseDot } from '../content/item-vectors';
import type { ItemText } from '../content/item-texts';
import type { SparseRows } from '../content/tfidf';
import { TfIdf, type TfIdfState } from '../content/tfidf';
import type { UserItems } from '../data/interactions';
import type { FitResult, Recommender, TrainingData } from './model';
import {
  closedFormFit,
  readFloat32,
  readInt32,
  readJson,
  readUserItems,
  scorePairsByUser,
  topScored,
  writeArray,
  writeJson,
  writeUserItems,
} from './model-files';

export interface ContentConfig {
  /** The item texts (`--item-text`): MovieLens movies.csv (+ tags.csv beside it) or posts as .jsonl. */
  itemText?: string;
}

/**
 * Content-based: every item is its TF-IDF vector (title, genres, tags or a post's body and tags; lemmas by
 * wink-nlp, src/content), a user is the sum of the vectors of the items they interacted with, and the score is
 * their dot product (a cosine up to the user's norm). Any item with text has a vector, so an item nobody has
 * interacted with yet — a post written a minute ago — is scored like any other (`scoreNewItems`).
 */
export class ContentModel implements Recommender {
  readonly name = 'content' as const;
  readonly config: ContentConfig;
  private tfidf = TfIdf.from({ terms: [], idf: [] });
  private rows: SparseRows = { offsets: new Int32Array(1), terms: new Int32Array(0), weights: new Float32Array(0) };
  private analyzer = '';
  private byUser: UserItems = { offsets: new Int32Array(1), items: new Int32Array(0) };

  constructor(config: ContentConfig = {}) {
    this.config = config;
  }

  get numItems(): number {
    return this.rows.offsets.length - 1;
  }

  async fit(data: TrainingData): Promise<FitResult> {
    const started = performance.now();
    this.use(catalogueVectors(data, itemTextsFor('content', this.config.itemText)));
    this.byUser = data.byUser;
    return closedFormFit(data.users.length, started);
  }

  private use(vectors: CatalogueVectors): void {
    this.tfidf = vectors.tfidf;
    this.rows = vectors.rows;
    this.analyzer = vectors.analyzer;
  }

  /** The sum of the TF-IDF vectors of `items`, dense over the vocabulary. */
  profile(items: ArrayLike<number>): Float32Array {
    const out = new Float32Array(this.tfidf.size);
    for (let k = 0; k < items.length; k++) {
      const r = items[k];
      for (let p = this.rows.offsets[r]; p < this.rows.offsets[r + 1]; p++) out[this.rows.terms[p]] += this.rows.weights[p];
    }
    return out;
  }

  private userProfile(user: number): Float32Array {
    if (user < 0 || user + 1 >= this.byUser.offsets.length) return new Float32Array(this.tfidf.size);
    return this.profile(this.byUser.items.subarray(this.byUser.offsets[user], this.byUser.offsets[user + 1]));
  }

  scoreUser(user: number): Float32Array {
    return sparseDot(this.rows, this.userProfile(user));
  }

  /** Scores of items known only by their text, for `user`. */
  scoreNewItems(user: number, items: readonly ItemText[]): Float32Array {
    return sparseDot(newItemVectors(this.tfidf, items), this.userProfile(user));
  }

  scorePairs(users: Int32Array, items: Int32Array): Float32Array {
    return scorePairsByUser((u) => this.scoreUser(u), users, items);
  }

  /** Cosine of the items' TF-IDF vectors. */
  similarItems(item: number, k: number): { items: Int32Array; scores: Float32Array } {
    return topScored(sparseDot(this.rows, denseRow(this.rows, item, this.tfidf.size)), k, item);
  }

  async save(dir: string): Promise<void> {
    writeJson(dir, 'content', { config: this.config, analyzer: this.analyzer, vocabulary: this.tfidf.state() });
    writeSparseRows(dir, 'content.items', this.rows);
    writeUserItems(dir, 'content', this.byUser);
  }

  static load(dir: string): ContentModel {
    const meta = readJson<{ config: ContentConfig; analyzer: string; vocabulary: TfIdfState }>(dir, 'content');
    const model = new ContentModel(meta.config);
    model.use({ tfidf: TfIdf.from(meta.vocabulary), rows: readSparseRows(dir, 'content.items'), analyzer: meta.analyzer, missing: 0 });
    model.byUser = readUserItems(dir, 'content');
    return model;
  }

  dispose(): void {
    // Plain arrays only: nothing to release.
  }
}

/** The item vectors saved with a content model version. */
export function writeSparseRows(dir: string, prefix: string, rows: SparseRows): void {
  writeArray(join(dir, `${prefix}.offsets.bin`), rows.offsets);
  writeArray(join(dir, `${prefix}.terms.bin`), rows.terms);
  writeArray(join(dir, `${prefix}.weights.bin`), rows.weights);
}

export function readSparseRows(dir: string, prefix: string): SparseRows {
  return {
    offsets: readInt32(join(dir, `${prefix}.offsets.bin`)),
    terms: readInt32(join(dir, `${prefix}.terms.bin`)),
    weights: readFloat32(join(dir, `${prefix}.weights.bin`)),
  };
}
