import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  ColumnBatch,
  type ColumnValue,
  DeltaConflictError,
  type DeltaSnapshot,
  type DeltaTable,
  DeltaTxnReplayError,
  type TxnAction,
} from '@pulse/lake';
import type { IncomingRecord, RecordPosition } from '@pulse/platform';

/**
 * Commit-info field listing the source records (`topic/partition/offset`) that a commit moves past without
 * a row because they are on the stream's dead-letter topic: the table's own account of what it skipped.
 */
export const DEAD_LETTERS_INFO = 'pulseDeadLetters';

/** The application id of a stream's progress on one topic-partition, kept as a Delta `txn`. */
export function txnAppId(stream: string, topic: string, partition: number): string {
  return `${txnAppIdPrefix(stream, topic)}${partition}`;
}

function txnAppIdPrefix(stream: string, topic: string): string {
  return stream === '' ? `etl:${topic}:` : `etl:${stream}:${topic}:`;
}

/** Next offset per partition of a topic that a table has committed for a stream. */
export function committedOffsets(snapshot: DeltaSnapshot, stream: string, topic: string): Map<number, bigint> {
  const out = new Map<number, bigint>();
  const prefix = txnAppIdPrefix(stream, topic);
  for (const [appId, txn] of snapshot.txns) {
    if (!appId.startsWith(prefix)) continue;
    const partition = Number(appId.slice(prefix.length));
    if (Number.isInteger(partition)) out.set(partition, BigInt(txn.version));
  }
  return out;
}

export interface SinkResult {
  /** Table version committed; null when every record had been committed before. */
  version: number | null;
  /** Records written. */
  written: number;
  /** Records skipped because the table already holds them (a replay after a crash or rebalance). */
  skipped: number;
  /** Partitions whose first record is past the committed offset (records missing from Kafka). */
  gaps: { topic: string; partition: number; expected: bigint; got: bigint }[];
}

/**
 * Writes micro-batches of Kafka records into a Delta table exactly once. Each batch is one Delta
 * commit holding its data files and, per topic-partition, a `txn` whose version is the next offset
 * (Structured Streaming's idempotent Delta sink, with the offsets in the table instead of a checkpoint
 * directory). Records below the table's committed offset are dropped before writing; a batch that
 * loses a race to another writer of the same partitions (a rebalance, a zombie replica) is re-filtered
 * against the winner's offsets and retried, so no record is written twice and none is skipped.
 * Records on the dead-letter topic (`deadLettered`) advance the offsets like written ones, and are
 * listed in the commit's info (`pulseDeadLetters`).
 */
export class ExactlyOnceDeltaSink<K, V> {
  /** Names this writer in its commits (commitInfo.pulseWriter), for operators reading the history. */
  readonly writerId = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly table: DeltaTable,
    /** '' for a bronze table (one stream per table); the stream name when several streams share a table. */
    private readonly stream: string,
    private readonly row: (record: IncomingRecord<K, V>) => ColumnValue[] | null,
  ) {}

  async write(
    records: readonly IncomingRecord<K, V>[],
    options: { batchId?: number; info?: Record<string, unknown>; deadLettered?: readonly RecordPosition[] } = {},
  ): Promise<SinkResult> {
    for (let attempt = 0; ; attempt++) {
      const snapshot = await this.table.refresh();
      const committed = new Map<string, bigint>();
      for (const [appId, txn] of snapshot.txns) committed.set(appId, BigInt(txn.version));
      const next = new Map<string, { topic: string; partition: number; first: bigint; last: bigint }>();
      const batch = new ColumnBatch(snapshot.schema);
      let skipped = 0;
      for (const record of records) {
        const appId = txnAppId(this.stream, record.topic, record.partition);
        const from = committed.get(appId);
        if (from !== undefined && record.offset < from) {
          skipped++;
          continue;
        }
        const seen = next.get(appId);
        if (seen) seen.last = record.offset;
        else next.set(appId, { topic: record.topic, partition: record.partition, first: record.offset, last: record.offset });
        const values = this.row(record);
        if (values) batch.push(values);
      }
      // Records already on the dead-letter topic: the commit moves the partition's offset past them.
      const passed: string[] = [];
      for (const p of options.deadLettered ?? []) {
        const appId = txnAppId(this.stream, p.topic, p.partition);
        const from = committed.get(appId);
        if (from !== undefined && p.offset < from) continue;
        passed.push(`${p.topic}/${p.partition}/${p.offset}`);
        const seen = next.get(appId);
        if (!seen) next.set(appId, { topic: p.topic, partition: p.partition, first: p.offset, last: p.offset });
        else {
          if (p.offset < seen.first) seen.first = p.offset;
          if (p.offset > seen.last) seen.last = p.offset;
        }
      }
      if (next.size === 0) return { version: null, written: 0, skipped, gaps: [] };
      const gaps = [...next.entries()].flatMap(([appId, p]) => {
        const expected = committed.get(appId);
        return expected !== undefined && p.first > expected ? [{ topic: p.topic, partition: p.partition, expected, got: p.first }] : [];
      });
      const txns: TxnAction[] = [...next.entries()].map(([appId, p]) => ({ appId, version: Number(p.last + 1n) }));
      const info: Record<string, unknown> = { ...(options.info ?? {}), pulseWriter: this.writerId };
      if (options.batchId !== undefined) info['pulseBatchId'] = options.batchId;
      if (passed.length > 0) info[DEAD_LETTERS_INFO] = passed;
      try {
        const result = await this.table.appendBatch(batch, {
          operation: 'STREAMING UPDATE',
          operationParameters: { outputMode: 'Append', queryId: this.stream || this.table.path, epochId: String(options.batchId ?? -1) },
          txns,
          info,
        });
        return { version: result.version, written: batch.length, skipped, gaps };
      } catch (error) {
        const lostRace = error instanceof DeltaTxnReplayError || (error instanceof DeltaConflictError && error.kind === 'transaction');
        if (!lostRace || attempt >= 20) throw error;
        // Another writer committed some of these offsets: re-read and write only what it did not.
      }
    }
  }
}
