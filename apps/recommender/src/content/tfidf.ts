/** Sparse rows (CSR): row r's terms and weights are `terms/weights.subarray(offsets[r], offsets[r + 1])`. */
export interface SparseRows {
  offsets: Int32Array;
  terms: Int32Array;
  weights: Float32Array;
}

/** What a TF-IDF vocabulary saves: its terms in index order and their idf. */
export interface TfIdfState {
  terms: string[];
  idf: number[];
}

/**
 * TF-IDF item vectors: a vocabulary of the terms in at least `minDf` documents (the `maxTerms` most frequent),
 * idf = ln((1 + N) / (1 + df)) + 1 (scikit-learn's smooth idf), sublinear tf 1 + ln(count), rows L2-normalised.
 * Fitted on the catalogue's texts and saved with the model, so a new item's text is embedded the same way.
 */
export class TfIdf {
  private readonly index = new Map<string, number>();

  private constructor(
    readonly terms: string[],
    readonly idf: Float32Array,
  ) {
    terms.forEach((t, k) => this.index.set(t, k));
  }

  get size(): number {
    return this.terms.length;
  }

  static fit(docs: readonly (readonly string[])[], options: { minDf?: number; maxTerms?: number } = {}): TfIdf {
    const minDf = options.minDf ?? 2;
    const df = new Map<string, number>();
    for (const doc of docs) for (const t of new Set(doc)) df.set(t, (df.get(t) ?? 0) + 1);
    const kept = [...df].filter(([, n]) => n >= minDf).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const terms = kept.slice(0, options.maxTerms ?? 50_000).map(([t]) => t);
    const n = docs.length;
    return new TfIdf(
      terms,
      Float32Array.from(terms, (t) => Math.log((1 + n) / (1 + (df.get(t) ?? 0))) + 1),
    );
  }

  static from(state: TfIdfState): TfIdf {
    return new TfIdf(state.terms, Float32Array.from(state.idf));
  }

  state(): TfIdfState {
    return { terms: this.terms, idf: Array.from(this.idf) };
  }

  /** The L2-normalised TF-IDF rows of `docs`; terms outside the vocabulary are dropped. */
  transform(docs: readonly (readonly string[])[]): SparseRows {
    const offsets = new Int32Array(docs.length + 1);
    const terms: number[] = [];
    const weights: number[] = [];
    docs.forEach((doc, r) => {
      const counts = new Map<number, number>();
      for (const t of doc) {
        const k = this.index.get(t);
        if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      const row = [...counts].sort((a, b) => a[0] - b[0]).map(([k, c]) => [k, (1 + Math.log(c)) * this.idf[k]] as const);
      const norm = Math.sqrt(row.reduce((s, [, w]) => s + w * w, 0)) || 1;
      for (const [k, w] of row) {
        terms.push(k);
        weights.push(w / norm);
      }
      offsets[r + 1] = terms.length;
    });
    return { offsets, terms: Int32Array.from(terms), weights: Float32Array.from(weights) };
  }
}
