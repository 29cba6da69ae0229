import { topK } from '../eval/metrics';
import { dotScores } from '../models/dot-scores';
import { ItemSet } from './item-set';

/**
 * The item side of a linear model as the scoring threads hold it: `[numItems × dim]` row-major vectors in a
 * SharedArrayBuffer (one copy per model version, read by every thread), the score of item i for a query vector p
 * being `bias + v_i · p`.
 */
export interface ItemTable {
  id: number;
  vectors: Float32Array;
  numItems: number;
  dim: number;
  bias: number;
}

/** The best `count` items of a table for a query, best first (ties: lower index first), with their scores. */
export interface TopItems {
  indices: Int32Array<ArrayBuffer>;
  scores: Float32Array<ArrayBuffer>;
}

/** What the service posts to a scoring thread. */
export type ScoringRequest =
  | { kind: 'load'; table: ItemTable }
  | { kind: 'drop'; table: number }
  /** `skip`: the words of an ItemSet over the table's items, left out of the answer. */
  | { kind: 'top'; call: number; table: number; query: Float32Array; count: number; skip?: Uint32Array<ArrayBuffer> };

/** What a scoring thread answers to a `top` request. */
export type ScoringReply = { call: number } & ({ top: TopItems } | { error: string });

/** The item tables a thread (or the service itself, without threads) scores against, and a reused scores buffer. */
export class ItemTables {
  private readonly tables = new Map<number, ItemTable>();
  private scores = new Float32Array(0);

  /** Handles one request; a `top` gets its answer (an unknown table or a bad query is an error, not a throw). */
  handle(request: ScoringRequest): ScoringReply | undefined {
    switch (request.kind) {
      case 'load':
        this.tables.set(request.table.id, request.table);
        return undefined;
      case 'drop':
        this.tables.delete(request.table);
        return undefined;
      case 'top': {
        const table = this.tables.get(request.table);
        if (!table) return { call: request.call, error: `no item table ${request.table} on this scoring thread` };
        if (request.query.length !== table.dim) {
          return { call: request.call, error: `query of ${request.query.length} factors for a table of ${table.dim}` };
        }
        if (request.skip && request.skip.length !== ItemSet.wordsFor(table.numItems)) {
          return { call: request.call, error: `a filter of ${request.skip.length} words for a table of ${table.numItems} items` };
        }
        const skip = request.skip && new ItemSet(table.numItems, request.skip);
        return { call: request.call, top: this.top(table, request.query, request.count, skip) };
      }
    }
  }

  /** Scores every item of `table` for `query` and keeps the best `count` not in `skip`. */
  top(table: ItemTable, query: Float32Array, count: number, skip?: ItemSet): TopItems {
    if (this.scores.length < table.numItems) this.scores = new Float32Array(table.numItems);
    const scores = dotScores(table.vectors, table.numItems, table.dim, query, 0, table.bias, this.scores.subarray(0, table.numItems));
    const best = topK(scores, Math.min(count, table.numItems), skip?.has);
    const indices = Int32Array.from(best);
    const picked = new Float32Array(indices.length);
    for (let n = 0; n < indices.length; n++) picked[n] = scores[indices[n]];
    return { indices, scores: picked };
  }
}
