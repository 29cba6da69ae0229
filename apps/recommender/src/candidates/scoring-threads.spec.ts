import { createLogger, type ServiceMetrics } from '@pulse/platform';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { topK } from '../eval/metrics';
import { type LinearFactors, scoreAllItems } from '../live/fold-in';
import { ItemTables } from './item-scoring';
import { ItemSet } from './item-set';
import { ScoringThreads } from './scoring-threads';

/** The worker's TypeScript source, run through ts-node (the service runs the built scoring-worker.js). */
const FROM_SOURCE = {
  file: join(__dirname, 'scoring.worker.ts'),
  options: {
    execArgv: ['--no-experimental-strip-types', '-r', 'ts-node/register/transpile-only'],
    env: { ...process.env, TS_NODE_COMPILER_OPTIONS: JSON.stringify({ module: 'commonjs' }) },
  },
};

/** A deterministic pseudo-random model: `numItems` × `dim` item vectors, every fifth item a copy of the one before (ties). */
function model(numItems: number, dim: number, seed = 7): LinearFactors {
  let x = seed;
  const next = () => ((x = (x * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const itemVectors = new Float32Array(numItems * dim);
  for (let i = 0; i < numItems; i++) {
    for (let j = 0; j < dim; j++) itemVectors[i * dim + j] = i % 5 === 4 ? itemVectors[(i - 1) * dim + j] : next();
  }
  const users = Float32Array.from({ length: 8 * dim }, next);
  return { dim, numItems, itemVectors, bias: 0.25, userVector: (u) => users.slice(u * dim, (u + 1) * dim) };
}

/** What Recommend picked before the scoring threads: every item scored in place, then the filtered top-k. */
function inPlace(factors: LinearFactors, query: Float32Array, k: number, skip?: (i: number) => boolean) {
  const scores = scoreAllItems(factors, query);
  return topK(scores, k, skip).map((index) => ({ index, score: scores[index] }));
}

/** Filters over the items of `model(3000, …)`: as a predicate (what scoring in place asks) and as the ItemSet posted. */
const filters: [string, ((i: number) => boolean) | undefined][] = [
  ['no filter', undefined],
  ['a few seen items', (i) => i % 97 === 0],
  ['attribute conditions that drop 19 items in 20', (i) => i % 20 !== 3],
  ['a filter that drops every item', () => true],
];
const itemSet = (skip: ((i: number) => boolean) | undefined, size = 3000) =>
  skip && new ItemSet(size).addAll(Array.from({ length: size }, (_, i) => i).filter(skip));

function scoring(threads: number) {
  const metrics = { registry: new Registry() } as ServiceMetrics;
  return { metrics, pool: new ScoringThreads({ RECS_SCORING_THREADS: threads }, createLogger('recs', 'silent'), metrics, FROM_SOURCE) };
}

async function calls(metrics: ServiceMetrics, on: string): Promise<number> {
  const counter = await metrics.registry.getSingleMetric('recs_scoring_calls_total')!.get();
  return counter.values.find((v) => v.labels['on'] === on)?.value ?? 0;
}

describe('ScoringThreads', () => {
  const factors = model(3000, 16);

  it.each([0, 2])(
    'with %i threads picks exactly the filtered top-k of scoring in place, whatever the filters drop',
    async (threads) => {
      const { pool, metrics } = scoring(threads);
      try {
        expect(pool.size).toBe(threads);
        for (const [, skip] of filters) {
          for (const user of [0, 3, 5]) {
            const query = factors.userVector(user);
            expect(await pool.top(factors, query, 50, itemSet(skip))).toEqual(inPlace(factors, query, 50, skip));
          }
        }
        // Calls in flight together, spread over the threads.
        const queries = [0, 1, 2, 3, 4, 5, 6, 7].map((u) => factors.userVector(u));
        const together = await Promise.all(queries.map((q) => pool.top(factors, q, 20, itemSet(filters[1][1]))));
        expect(together).toEqual(queries.map((q) => inPlace(factors, q, 20, filters[1][1])));
        expect(await calls(metrics, threads > 0 ? 'thread' : 'service')).toBeGreaterThanOrEqual(20);
        expect(await calls(metrics, threads > 0 ? 'service' : 'thread')).toBe(0);
      } finally {
        await pool.onApplicationShutdown();
      }
    },
    60_000,
  );

  it('answers every call of a thread that stopped by scoring in place, exactly as before', async () => {
    const { pool, metrics } = scoring(1);
    try {
      const query = factors.userVector(1);
      expect(await pool.top(factors, query, 10)).toEqual(inPlace(factors, query, 10));
      // The thread is stopped while a call waits for it.
      const waiting = pool.top(factors, factors.userVector(2), 10);
      await (pool as unknown as { threads: { worker: { terminate(): Promise<number> } }[] }).threads[0].worker.terminate();
      expect(await waiting).toEqual(inPlace(factors, factors.userVector(2), 10));
      expect(pool.size).toBe(0);
      expect(await pool.top(factors, query, 10)).toEqual(inPlace(factors, query, 10));
      expect(await calls(metrics, 'service')).toBeGreaterThanOrEqual(1);
    } finally {
      await pool.onApplicationShutdown();
    }
  }, 60_000);

  it('serves the tables of two model versions side by side', async () => {
    const { pool } = scoring(1);
    try {
      const other = model(500, 8, 11);
      expect(await pool.top(factors, factors.userVector(0), 5)).toEqual(inPlace(factors, factors.userVector(0), 5));
      expect(await pool.top(other, other.userVector(0), 5)).toEqual(inPlace(other, other.userVector(0), 5));
    } finally {
      await pool.onApplicationShutdown();
    }
  }, 60_000);
});

describe('ItemTables (a scoring thread)', () => {
  it('answers a call for a table it does not hold, or with a query of the wrong size, with an error', () => {
    const tables = new ItemTables();
    const vectors = new Float32Array(new SharedArrayBuffer(4 * 4 * 2));
    tables.handle({ kind: 'load', table: { id: 1, vectors, numItems: 4, dim: 2, bias: 0 } });
    expect(tables.handle({ kind: 'top', call: 1, table: 2, query: new Float32Array(2), count: 2 })).toEqual({
      call: 1,
      error: 'no item table 2 on this scoring thread',
    });
    expect(tables.handle({ kind: 'top', call: 2, table: 1, query: new Float32Array(3), count: 2 })).toEqual({
      call: 2,
      error: 'query of 3 factors for a table of 2',
    });
    expect(tables.handle({ kind: 'top', call: 4, table: 1, query: new Float32Array(2), count: 2, skip: new Uint32Array(2) })).toEqual({
      call: 4,
      error: 'a filter of 2 words for a table of 4 items',
    });
    tables.handle({ kind: 'drop', table: 1 });
    expect(tables.handle({ kind: 'top', call: 3, table: 1, query: new Float32Array(2), count: 2 })).toEqual({
      call: 3,
      error: 'no item table 1 on this scoring thread',
    });
  });
});
