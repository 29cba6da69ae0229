import type { TrainingData } from '../models/model';
import { documentOf, type ItemText, type ItemTexts, readItemTexts } from './item-texts';
import { type TextAnalyzer, textAnalyzer } from './text-analyzer';
import { type SparseRows, TfIdf } from './tfidf';

/** The TF-IDF vectors of a model's catalogue and how they were made. */
export interface CatalogueVectors {
  tfidf: TfIdf;
  rows: SparseRows;
  analyzer: string;
  /** Items of the catalogue without any text (their rows are empty). */
  missing: number;
}

/** Item texts from `--item-text`, required by the content models. */
export function itemTextsFor(model: string, path: string | undefined): ItemTexts {
  if (!path) throw new Error(`${model}: item texts are required (--item-text movies.csv, or posts as .jsonl)`);
  return readItemTexts(path);
}

/**
 * The TF-IDF vectors of every item of `data` (by its external id in `data.itemIds`). An item without training
 * interactions is embedded as a new item would be: without the user tags that only come after interactions.
 */
export function catalogueVectors(data: TrainingData, texts: ItemTexts, analyzer: TextAnalyzer = textAnalyzer()): CatalogueVectors {
  const ids = data.itemIds;
  if (!ids) throw new Error('content models need the item ids of the training data');
  let missing = 0;
  const docs = Array.from({ length: data.numItems }, (_, i) => {
    const item = texts.get(ids.id(i));
    if (!item) {
      missing++;
      return [];
    }
    const doc = documentOf(item, data.popularity[i] === 0);
    return analyzer.terms(doc.text, doc.keywords);
  });
  // The vocabulary and idf come from the items with interactions: the others are new, as if written after training.
  const tfidf = TfIdf.fit(docs.filter((_, i) => data.popularity[i] > 0));
  return { tfidf, rows: tfidf.transform(docs), analyzer: analyzer.name, missing };
}

/** The TF-IDF rows of new items' texts, with a saved vocabulary. */
export function newItemVectors(tfidf: TfIdf, items: readonly ItemText[], analyzer: TextAnalyzer = textAnalyzer()): SparseRows {
  return tfidf.transform(
    items.map((item) => {
      const doc = documentOf(item, true);
      return analyzer.terms(doc.text, doc.keywords);
    }),
  );
}

/** Σ_t rows[r]_t · dense[t] for every row r. */
export function sparseDot(rows: SparseRows, dense: Float32Array): Float32Array {
  const out = new Float32Array(rows.offsets.length - 1);
  for (let r = 0; r < out.length; r++) {
    let s = 0;
    for (let p = rows.offsets[r]; p < rows.offsets[r + 1]; p++) s += rows.weights[p] * dense[rows.terms[p]];
    out[r] = s;
  }
  return out;
}

/** Row `r` of `rows` as a dense vector of `size` terms. */
export function denseRow(rows: SparseRows, r: number, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let p = rows.offsets[r]; p < rows.offsets[r + 1]; p++) out[rows.terms[p]] = rows.weights[p];
  return out;
}
