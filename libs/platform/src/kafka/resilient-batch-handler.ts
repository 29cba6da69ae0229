import { errorMessage } from '../health/health.registry';
import type { Logger } from '../logging/logger';
import { type BackoffPolicy, backoffDelayMs, sleep as defaultSleep } from '../retry/backoff';
import { failedRecord, isPermanentFailure } from './consumer-errors';
import type { DeadLetter, DeadLetterStage } from './dead-letters';
import type { IncomingRecord, RecordPosition, UndecodableRecord } from './kafka.types';

/** What a supervised handler learns beside its records. */
export interface HandlerContext {
  /**
   * Records of this batch already on the dead-letter topic whose predecessors (same partition) are all
   * handled or in this call: an exactly-once sink advances its offsets past them as if it had written them.
   */
  deadLettered: readonly RecordPosition[];
}

/**
 * A service's batch handler: resolves once the batch is durable in its store. It may throw a
 * `PermanentError` (naming the record when it knows it) for a failure no retry can fix; anything else
 * is retried. It may be called with no records (only `deadLettered`), and again with records it has
 * handled (after a retry), so it must be idempotent, as every at-least-once handler is.
 */
export type SupervisedHandler<K, V> = (records: IncomingRecord<K, V>[], context: HandlerContext) => Promise<void>;

/** Next offsets per topic and partition that a sink already holds; records below are neither handled nor dead-lettered. */
export type SinkOffsets = () => Promise<Map<string, Map<number, bigint>>>;

export interface ResilientBatchOptions<K, V> {
  group: string;
  handler: SupervisedHandler<K, V>;
  /** Durable write of dead letters (the group's dead-letter topic). */
  deadLetters: (letters: DeadLetter[]) => Promise<void>;
  /** The service's own classification of permanent errors, beside `PermanentError`. */
  isPermanent?: (error: unknown) => boolean;
  backoff: BackoffPolicy;
  sinkOffsets?: SinkOffsets;
  logger: Logger;
  /** Aborted when the consumer stops: waits end and the batch is given up uncommitted. */
  signal: AbortSignal;
  events?: {
    retry?(attempt: number, error: unknown, delayMs: number): void;
    recovered?(): void;
    deadLettered?(stage: DeadLetterStage, count: number): void;
  };
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** The consumer is stopping: the batch stays uncommitted, for the group's next owner. */
export class ConsumerStoppedError extends Error {
  override readonly name = 'ConsumerStoppedError';
}

type Entry<K, V> = { position: RecordPosition; record?: IncomingRecord<K, V> };

/**
 * Handles one batch so that no record can stop the consumer (Spring Kafka's DefaultErrorHandler with a
 * DeadLetterPublishingRecoverer, Kafka Connect's `errors.tolerance=all` with a dead-letter queue):
 * - records that could not be decoded go to the dead-letter topic first, before any handling that
 *   commits past them;
 * - a transient failure retries the batch with exponential backoff and jitter, for as long as it takes
 *   (nothing is committed meanwhile, and the process never exits over it);
 * - a permanent failure that names its record dead-letters that record and re-handles the rest; one that
 *   does not re-handles the batch record by record to find it.
 * It resolves when every record is handled or dead-lettered, so the caller commits the batch (at-least-once).
 */
export async function handleResiliently<K, V>(
  options: ResilientBatchOptions<K, V>,
  records: IncomingRecord<K, V>[],
  undecodable: UndecodableRecord[],
): Promise<void> {
  const sleep = options.sleep ?? defaultSleep;
  // Every record of the batch, by partition in offset order, and what became of it.
  const byPartition = new Map<string, Entry<K, V>[]>();
  const add = (e: Entry<K, V>) => {
    const key = `${e.position.topic}/${e.position.partition}`;
    const entries = byPartition.get(key);
    if (entries) entries.push(e);
    else byPartition.set(key, [e]);
  };
  for (const r of records) add({ position: r, record: r });
  for (const u of undecodable) add({ position: u });
  for (const entries of byPartition.values()) entries.sort((a, b) => (a.position.offset < b.position.offset ? -1 : 1));
  const resolved = new Set<RecordPosition>();
  const lettered: RecordPosition[] = [];
  const passed = new Set<RecordPosition>();
  let retrying = false;

  const stopIfAborted = () => {
    if (options.signal.aborted) throw new ConsumerStoppedError('consumer stopped during the batch');
  };

  /** Retries `step` on transient failures; returns the error of a permanent one. */
  const withRetries = async (what: string, step: () => Promise<void>, permanentAllowed: boolean): Promise<unknown> => {
    for (let attempt = 1; ; attempt++) {
      stopIfAborted();
      try {
        await step();
        if (retrying) {
          retrying = false;
          options.logger.info({ group: options.group }, `${what} succeeded after retries`);
          options.events?.recovered?.();
        }
        return undefined;
      } catch (error) {
        stopIfAborted();
        if (permanentAllowed && isPermanentFailure(error, options.isPermanent)) return error;
        const delayMs = backoffDelayMs(options.backoff, attempt, options.random);
        retrying = true;
        options.logger.warn({ err: error, group: options.group, attempt, retryInMs: delayMs }, `${what} failed; retrying`);
        options.events?.retry?.(attempt, error, delayMs);
        await sleep(delayMs, options.signal);
      }
    }
  };

  const publish = async (letters: DeadLetter[]) => {
    if (letters.length === 0) return;
    await withRetries('writing dead letters', () => options.deadLetters(letters), false);
    for (const l of letters) {
      options.logger.error(
        { group: options.group, topic: l.topic, partition: l.partition, offset: String(l.offset), stage: l.stage, err: l.error },
        'record written to the dead-letter topic',
      );
      const position = positionOf(l, byPartition);
      resolved.add(position);
      lettered.push(position);
    }
    options.events?.deadLettered?.(letters[0].stage, letters.length);
  };

  const letterOf = (record: IncomingRecord<K, V>, error: unknown, attempts: number): DeadLetter => ({
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestampMs: record.timestampMs,
    headers: record.headers,
    raw: record.raw ?? { key: null, value: null },
    group: options.group,
    stage: 'handle',
    error,
    attempts,
  });

  /** Dead letters whose predecessors are all resolved or in `segment`: safe for a sink to advance past. */
  const advanceable = (segment: readonly IncomingRecord<K, V>[]): RecordPosition[] => {
    const inSegment = new Set<RecordPosition>(segment);
    const out: RecordPosition[] = [];
    for (const entries of byPartition.values()) {
      for (const e of entries) {
        if (lettered.includes(e.position)) out.push(e.position);
        else if (!resolved.has(e.position) && !inSegment.has(e.position)) break;
      }
    }
    return out;
  };

  // 1. Poison records: durable on the dead-letter topic before anything commits past them.
  if (undecodable.length > 0) {
    let held: (p: RecordPosition) => boolean = () => false;
    await withRetries('reading the sink offsets', async () => void (held = await sinkHolds(options, undecodable)), false);
    for (const u of undecodable.filter((u) => held(u))) resolved.add(u);
    await publish(
      undecodable
        .filter((u) => !held(u))
        .map((u) => ({ ...u, group: options.group, stage: 'decode' as const, error: u.error, attempts: 1 })),
    );
  }

  // 2. The records, as one segment; split record by record when a permanent failure does not say which.
  const queue: IncomingRecord<K, V>[][] = [records];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    let segment = next;
    for (let tries = 1; ; tries++) {
      const context = { deadLettered: advanceable(segment) };
      const failure = await withRetries('handling a batch', () => options.handler(segment, context), true);
      if (failure === undefined) {
        for (const r of segment) resolved.add(r);
        for (const p of context.deadLettered) passed.add(p);
        break;
      }
      const named = failedRecord(failure);
      const culprit = named && segment.find((r) => samePosition(r, named));
      if (culprit) {
        await publish([letterOf(culprit, failure, tries)]);
        segment = segment.filter((r) => r !== culprit);
        continue;
      }
      if (segment.length > 1) {
        options.logger.warn(
          { err: failure, group: options.group, records: segment.length },
          'permanent failure of a batch; handling its records one by one',
        );
        queue.unshift(...segment.map((r) => [r]));
        break;
      }
      if (segment.length === 1) {
        await publish([letterOf(segment[0], failure, tries)]);
        segment = [];
        continue;
      }
      // Nothing left to blame: the failure is not the records', so it is retried like a transient one.
      options.logger.warn({ err: failure, group: options.group }, 'permanent failure without records; retrying');
      await sleep(backoffDelayMs(options.backoff, tries, options.random), options.signal);
      stopIfAborted();
    }
  }

  // 3. Dead letters at the end of a partition: one more call, so a sink that keeps offsets moves past them.
  if (lettered.some((p) => !passed.has(p))) {
    const context = { deadLettered: advanceable([]) };
    await withRetries('handling a batch', () => options.handler([], context), false);
  }
}

async function sinkHolds(options: { sinkOffsets?: SinkOffsets }, positions: RecordPosition[]): Promise<(p: RecordPosition) => boolean> {
  if (!options.sinkOffsets || positions.length === 0) return () => false;
  const offsets = await options.sinkOffsets();
  return (p) => {
    const next = offsets.get(p.topic)?.get(p.partition);
    return next !== undefined && p.offset < next;
  };
}

function samePosition(a: RecordPosition, b: RecordPosition): boolean {
  return a.topic === b.topic && a.partition === b.partition && a.offset === b.offset;
}

/** The batch's own position object of a letter (identity matters for the bookkeeping above). */
function positionOf<K, V>(p: RecordPosition, byPartition: Map<string, Entry<K, V>[]>): RecordPosition {
  return byPartition.get(`${p.topic}/${p.partition}`)?.find((e) => samePosition(e.position, p))?.position ?? p;
}

/** One line for logs and readiness: what failed, how often. */
export function retryReason(attempt: number, error: unknown): string {
  return `retrying a batch (attempt ${attempt}): ${errorMessage(error)}`;
}
