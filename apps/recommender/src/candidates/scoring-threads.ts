import { Inject, Injectable, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { Counter } from 'prom-client';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from '../config/recommender.config';
import type { LinearFactors } from '../live/fold-in';
import { type ItemTable, ItemTables, type ScoringReply, type ScoringRequest, type TopItems } from './item-scoring';
import type { ItemSet } from './item-set';

/** The program of the scoring threads: by default the one built beside main.js (apps/recommender/webpack.config.js). */
export const SCORING_WORKER = Symbol('SCORING_WORKER');
export interface ScoringWorker {
  file: string;
  options?: WorkerOptions;
}
const BUILT_WORKER: ScoringWorker = { file: join(__dirname, 'scoring-worker.js') };
/** A thread that died is started again at most this often; meanwhile its calls are scored in the service's thread. */
const RESTART_AFTER_MS = 10_000;

export interface ScoredItem {
  index: number;
  score: number;
}

interface ScoringThread {
  worker: Worker;
  /** Calls posted and not answered yet. */
  pending: Map<number, { resolve: (top: TopItems) => void; reject: (error: Error) => void }>;
  /** The item tables this thread holds. */
  tables: Set<number>;
}

/**
 * Scores every item of a linear model (MF, GMF, iALS, BPR, the hybrid: `bias + v_i · p`) for a user vector and
 * picks the best, on worker threads (RECS_SCORING_THREADS), so that the dot products over the catalogue never
 * hold the event loop that answers gRPC, reads Redis and produces to Kafka. The item vectors of a model version
 * are copied once into a SharedArrayBuffer that every thread reads; a call posts the user vector (dim floats) and
 * the request's filters as one bitset (seen, hidden, exclusions, attribute conditions: an ItemSet) and gets back
 * the indices and scores of the best items the filters let through — exactly the filtered top-k of scoring in
 * place, whatever share of the catalogue they drop. With 0 threads, or when the worker's program is not beside the service
 * (running from source), or while a thread that died is waiting to be started again, scoring runs in place.
 */
@Injectable()
export class ScoringThreads implements OnApplicationShutdown {
  private readonly threads: (ScoringThread | undefined)[];
  private readonly local = new ItemTables();
  private readonly tables = new WeakMap<LinearFactors, ItemTable>();
  /** When a model's factors are collected, the threads let go of its table. */
  private readonly released = new FinalizationRegistry<number>((table) => this.dropTable(table));
  private readonly calls: Counter<'on'>;
  private nextTable = 1;
  private nextCall = 1;
  private restartAt = 0;
  private closed = false;

  constructor(
    @Inject(RECOMMENDER_CONFIG) config: Pick<RecommenderConfig, 'RECS_SCORING_THREADS'>,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: ServiceMetrics,
    @Optional() @Inject(SCORING_WORKER) private readonly program: ScoringWorker = BUILT_WORKER,
  ) {
    this.calls = new Counter({
      name: 'recs_scoring_calls_total',
      help: "Scorings of a linear model's whole catalogue, by where they ran (a scoring thread, or the service's own thread)",
      labelNames: ['on'],
      registers: [metrics.registry],
    });
    let threads = config.RECS_SCORING_THREADS;
    if (threads > 0 && !existsSync(program.file)) {
      logger.warn({ file: program.file }, "no scoring worker beside the service (running from source): scoring in the service's thread");
      threads = 0;
    }
    this.threads = Array.from({ length: threads }, () => this.start());
  }

  /** How many scoring threads run (0: scoring in place). */
  get size(): number {
    return this.threads.filter(Boolean).length;
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t?.worker.terminate()));
  }

  /** The best `k` items for the user vector `query` not in `skip`, best first (ties: lower index first). */
  async top(factors: LinearFactors, query: Float32Array, k: number, skip?: ItemSet): Promise<ScoredItem[]> {
    const table = this.tableOf(factors);
    const thread = this.pick();
    let best: TopItems | undefined;
    if (thread) {
      try {
        best = await this.post(thread, table, query, k, skip);
        this.calls.inc({ on: 'thread' });
      } catch (error) {
        this.logger.warn({ err: error }, "a scoring thread failed a call: scored in the service's thread");
      }
    }
    if (!best) {
      this.calls.inc({ on: 'service' });
      best = this.local.top(table, query, k, skip);
    }
    return Array.from(best.indices, (index, n) => ({ index, score: best.scores[n] }));
  }

  private pick(): ScoringThread | undefined {
    if (this.closed) return undefined;
    if (this.threads.some((t) => !t) && Date.now() >= this.restartAt) {
      for (let i = 0; i < this.threads.length; i++) this.threads[i] ??= this.start();
    }
    let best: ScoringThread | undefined;
    for (const t of this.threads) if (t && (!best || t.pending.size < best.pending.size)) best = t;
    return best;
  }

  private post(thread: ScoringThread, table: ItemTable, query: Float32Array, count: number, skip: ItemSet | undefined): Promise<TopItems> {
    if (!thread.tables.has(table.id)) {
      this.send(thread, { kind: 'load', table });
      thread.tables.add(table.id);
    }
    const call = this.nextCall++;
    return new Promise<TopItems>((resolve, reject) => {
      thread.pending.set(call, { resolve, reject });
      // The query and the filter are copied (structured clone, dim floats and a bit per item): the caller keeps both.
      this.send(thread, { kind: 'top', call, table: table.id, query, count, skip: skip?.words });
    });
  }

  private send(thread: ScoringThread, request: ScoringRequest): void {
    thread.worker.postMessage(request);
  }

  /** The shared copy of a model's item vectors, made on its first scoring. */
  private tableOf(factors: LinearFactors): ItemTable {
    let table = this.tables.get(factors);
    if (table) return table;
    const values = factors.numItems * factors.dim;
    const vectors = new Float32Array(new SharedArrayBuffer(values * Float32Array.BYTES_PER_ELEMENT));
    vectors.set(factors.itemVectors.subarray(0, values));
    table = { id: this.nextTable++, vectors, numItems: factors.numItems, dim: factors.dim, bias: factors.bias };
    this.tables.set(factors, table);
    this.released.register(factors, table.id);
    return table;
  }

  private dropTable(table: number): void {
    for (const t of this.threads) {
      if (t?.tables.delete(table)) this.send(t, { kind: 'drop', table });
    }
  }

  private start(): ScoringThread {
    const worker = new Worker(this.program.file, this.program.options);
    // A thread never keeps the service (or a command) alive on its own.
    worker.unref();
    const thread: ScoringThread = { worker, pending: new Map(), tables: new Set() };
    worker.on('message', (reply: ScoringReply) => {
      const waiting = thread.pending.get(reply.call);
      if (!waiting) return;
      thread.pending.delete(reply.call);
      if ('top' in reply) waiting.resolve(reply.top);
      else waiting.reject(new Error(reply.error));
    });
    const lost = (reason: string) => {
      const slot = this.threads.indexOf(thread);
      if (slot < 0) return;
      this.threads[slot] = undefined;
      for (const waiting of thread.pending.values()) waiting.reject(new Error(reason));
      thread.pending.clear();
      if (this.closed) return;
      this.restartAt = Date.now() + RESTART_AFTER_MS;
      this.logger.error({ reason }, `a scoring thread stopped: scoring in the service's thread for ${RESTART_AFTER_MS / 1000} s`);
    };
    worker.on('error', (error) => lost(`scoring thread failed: ${error.message}`));
    worker.on('exit', (code) => lost(`scoring thread exited with code ${code}`));
    return thread;
  }
}
