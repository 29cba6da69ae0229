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

/** Commit-info field counting the records a commit moves past as copies of a key already written (KeyDedupe). */
export const DUPLICATES_INFO = 'pulseDuplicates';

/**
 * The Kafka cluster a stream reads. A table keeps a stream's progress as offsets, and offsets mean something only on the
 * cluster that gave them: after a failover to a mirrored cluster (MirrorMaker 2 copies records, not offsets), the same
 * records have other offsets. Progress is therefore kept per cluster id.
 */
export interface StreamSource {
  /** The cluster's id (Kafka's `cluster.id`). */
  clusterId(): Promise<string>;
}

/** The application id of a stream's progress on one topic-partition of a cluster, kept as a Delta `txn`. */
export function txnAppId(stream: string, topic: string, partition: number, clusterId: string): string {
  return `${txnAppIdBase(stream, topic)}@${clusterId}:${partition}`;
}

function txnAppIdBase(stream: string, topic: string): string {
  return stream === '' ? `etl:${topic}` : `etl:${stream}:${topic}`;
}

/** A stream's progress on a topic as a table holds it for one cluster, and where it was on the cluster before. */
export interface StreamProgress {
  /** Next offset per partition on the cluster read now. */
  offsets: Map<number, bigint>;
  /**
   * When the table has no progress for this cluster but has some from another one (a failover): the next offsets
   * there, per partition. The records up to them are in the table; the stream starts where its consumer group is.
   */
  previous: Map<number, bigint>;
}

/**
 * A stream's progress on a topic for the cluster `clusterId`. A table written before progress named its cluster
 * (`etl:<stream>:<topic>:<partition>`) is taken as this cluster's unless another cluster's progress is there too.
 */
export function streamProgress(snapshot: DeltaSnapshot, stream: string, topic: string, clusterId: string): StreamProgress {
  const base = txnAppIdBase(stream, topic);
  const current = new Map<number, bigint>();
  const unnamed = new Map<number, bigint>();
  const other = new Map<number, bigint>();
  let others = false;
  for (const [appId, txn] of snapshot.txns) {
    if (!appId.startsWith(base)) continue;
    const rest = appId.slice(base.length);
    const colon = rest.lastIndexOf(':');
    const partition = Number(rest.slice(colon + 1));
    if (colon < 0 || rest.slice(colon + 1) === '' || !Number.isInteger(partition)) continue;
    const version = BigInt(txn.version);
    if (colon === 0) unnamed.set(partition, version);
    else if (rest[0] !== '@') continue;
    else if (rest.slice(1, colon) === clusterId) current.set(partition, version);
    else {
      others = true;
      if (version > (other.get(partition) ?? -1n)) other.set(partition, version);
    }
  }
  if (current.size > 0) return { offsets: current, previous: new Map() };
  if (!others) return { offsets: unnamed, previous: new Map() };
  for (const [partition, version] of unnamed) if (version > (other.get(partition) ?? -1n)) other.set(partition, version);
  return { offsets: new Map(), previous: other };
}

/** Whether a table holds progress of a stream on a topic, on any cluster. */
export function hasProgress(snapshot: DeltaSnapshot, stream: string, topic: string): boolean {
  const base = txnAppIdBase(stream, topic);
  for (const appId of snapshot.txns.keys()) if (appId.startsWith(`${base}:`) || appId.startsWith(`${base}@`)) return true;
  return false;
}

/** Next offset per partition of a topic that a table has committed for a stream on the cluster `clusterId`. */
export function committedOffsets(snapshot: DeltaSnapshot, stream: string, topic: string, clusterId: string): Map<number, bigint> {
  return streamProgress(snapshot, stream, topic, clusterId).offsets;
}

/**
 * Dropping a record whose key (an event id) the same partition already holds at an earlier offset: a producer that
 * wrote it twice (ingest acknowledges at least once: a client's retry after a lost answer, or a replica killed
 * between writing and remembering an event, writes it again). Producers key records by something the id belongs to
 * (the user), so both copies are in one partition and a per-partition window of the latest `window` keys finds them.
 */
export interface KeyDedupe<K, V> {
  /** The record's unique key; null: never a duplicate. */
  key(record: IncomingRecord<K, V>): string | null;
  /** Keys remembered per partition (the newest); a copy further back than this is written again. */
  window: number;
  /**
   * The keys and offsets of the records of a topic's partitions in the offset ranges given (`to` excluded), per
   * partition, as the stream handled them: to remember them after a restart.
   */
  load(topic: string, ranges: ReadonlyMap<number, OffsetRange>): Promise<Map<number, { key: string; offset: bigint }[]>>;
}

/** Offsets `from` (included) to `to` (excluded) of a partition. */
export interface OffsetRange {
  from: bigint;
  to: bigint;
}

/** A partition of a stream, where the table has committed it (`previous`: where it was on the cluster before). */
export interface PartitionProgress {
  appId: string;
  partition: number;
  committed: bigint | undefined;
  previous?: bigint;
}

/**
 * The newest keys of one partition with the offset each was first seen at, oldest evicted first. The keys are also
 * kept in a ring in the order they came, so the oldest is found in O(1): a Map emptied from its front (`keys().next()`
 * after deletes) walks the deleted entries each time until V8 rehashes it, quadratic in the window.
 */
export class RecentKeys {
  private readonly offsets = new Map<string, bigint>();
  private readonly order: (string | undefined)[];
  private next = 0;
  constructor(private readonly window: number) {
    this.order = new Array<string | undefined>(window);
  }

  /** Whether `key` was seen at an earlier offset; remembers it otherwise. */
  seenBefore(key: string, offset: bigint): boolean {
    const first = this.offsets.get(key);
    if (first !== undefined) return first < offset;
    if (this.window <= 0) return false;
    this.offsets.set(key, offset);
    const oldest = this.order[this.next];
    if (oldest !== undefined) this.offsets.delete(oldest);
    this.order[this.next] = key;
    this.next = this.next + 1 === this.window ? 0 : this.next + 1;
    return false;
  }
}

/**
 * The key windows of a stream's partitions, each up to date with a committed offset: loaded with the last `window`
 * records below it on first use, and again when the committed offset is not the one the window was left at (another
 * replica had the partition meanwhile, or this one's batch failed).
 */
export class KeyWindows {
  private readonly windows = new Map<string, { keys: RecentKeys; upTo: bigint | undefined }>();

  constructor(private readonly dedupe: Pick<KeyDedupe<unknown, unknown>, 'window' | 'load'>) {}

  /**
   * The windows of a topic's partitions, loaded in one go where needed. On a cluster the table has no progress for (a
   * failover), a window starts from the last records below where the stream was on the cluster before (`previous`):
   * the mirrored cluster has the same records per partition, so copies of them are found.
   */
  async of(topic: string, partitions: readonly PartitionProgress[]): Promise<Map<string, RecentKeys>> {
    const out = new Map<string, RecentKeys>();
    const stale: PartitionProgress[] = [];
    for (const p of partitions) {
      const known = this.windows.get(p.appId);
      if (known && known.upTo === p.committed) out.set(p.appId, known.keys);
      else stale.push(p);
    }
    const ranges = new Map<number, OffsetRange>();
    for (const p of stale) {
      const upTo = p.committed ?? p.previous;
      if (upTo === undefined || upTo <= 0n) continue;
      ranges.set(p.partition, { from: upTo > BigInt(this.dedupe.window) ? upTo - BigInt(this.dedupe.window) : 0n, to: upTo });
    }
    const loaded = ranges.size > 0 ? await this.dedupe.load(topic, ranges) : new Map<number, { key: string; offset: bigint }[]>();
    for (const p of stale) {
      const keys = new RecentKeys(this.dedupe.window);
      // Records of the cluster before count as earlier than any of this one (their offsets are not comparable).
      for (const { key, offset } of loaded.get(p.partition) ?? []) keys.seenBefore(key, p.committed === undefined ? -1n : offset);
      this.windows.set(p.appId, { keys, upTo: p.committed });
      out.set(p.appId, keys);
    }
    return out;
  }

  /** The partition's window holds the keys of a commit that moved its offset to `next`. */
  committed(appId: string, next: bigint): void {
    const known = this.windows.get(appId);
    if (known) known.upTo = next;
  }
}

export interface SinkResult {
  /** Table version committed; null when every record had been committed before. */
  version: number | null;
  /** Records written. */
  written: number;
  /** Records skipped because the table already holds them (a replay after a crash or rebalance). */
  skipped: number;
  /** Records not written because the partition held their key at an earlier offset (with a KeyDedupe). */
  duplicates: number;
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
    private readonly source: StreamSource,
    private readonly row: (record: IncomingRecord<K, V>) => ColumnValue[] | null,
    private readonly dedupe?: KeyDedupe<K, V>,
  ) {
    if (dedupe) this.windows = new KeyWindows(dedupe);
  }

  /** Per partition: its window of keys (with a KeyDedupe). */
  private readonly windows?: KeyWindows;

  async write(
    records: readonly IncomingRecord<K, V>[],
    options: { batchId?: number; info?: Record<string, unknown>; deadLettered?: readonly RecordPosition[] } = {},
  ): Promise<SinkResult> {
    const clusterId = await this.source.clusterId();
    // Per topic, per partition: its txn appId (built once, not per record).
    const appIds = new Map<string, string[]>();
    const appIdOf = (topic: string, partition: number): string => {
      let ofTopic = appIds.get(topic);
      if (!ofTopic) appIds.set(topic, (ofTopic = []));
      return (ofTopic[partition] ??= txnAppId(this.stream, topic, partition, clusterId));
    };
    const topics = new Set([...records.map((r) => r.topic), ...(options.deadLettered ?? []).map((p) => p.topic)]);
    for (let attempt = 0; ; attempt++) {
      const snapshot = await this.table.refresh();
      // Per topic-partition of this cluster: the next offset the table holds, or where it was on the cluster before.
      const committed = new Map<string, bigint>();
      const previous = new Map<string, bigint>();
      for (const topic of topics) {
        const progress = streamProgress(snapshot, this.stream, topic, clusterId);
        for (const [p, offset] of progress.offsets) committed.set(txnAppId(this.stream, topic, p, clusterId), offset);
        for (const [p, offset] of progress.previous) previous.set(txnAppId(this.stream, topic, p, clusterId), offset);
      }
      const next = new Map<string, { topic: string; partition: number; first: bigint; last: bigint }>();
      const batch = new ColumnBatch(snapshot.schema);
      let skipped = 0;
      let duplicates = 0;
      // The key windows of the batch's partitions, resolved once per attempt (the loop below stays synchronous).
      const windows = new Map<string, RecentKeys>();
      if (this.windows) {
        const partitions = new Map<string, Map<string, PartitionProgress>>();
        for (const record of records) {
          const appId = appIdOf(record.topic, record.partition);
          const ofTopic = partitions.get(record.topic) ?? new Map<string, PartitionProgress>();
          partitions.set(record.topic, ofTopic);
          ofTopic.set(appId, { appId, partition: record.partition, committed: committed.get(appId), previous: previous.get(appId) });
        }
        for (const [topic, ofTopic] of partitions)
          for (const [appId, keys] of await this.windows.of(topic, [...ofTopic.values()])) windows.set(appId, keys);
      }
      for (const record of records) {
        const appId = appIdOf(record.topic, record.partition);
        const from = committed.get(appId);
        if (from !== undefined && record.offset < from) {
          skipped++;
          continue;
        }
        const seen = next.get(appId);
        // The consumer handed the same record twice (a fetch repeated under load: seen once in a chaos run's lake).
        if (seen && record.offset <= seen.last) {
          skipped++;
          continue;
        }
        if (seen) seen.last = record.offset;
        else next.set(appId, { topic: record.topic, partition: record.partition, first: record.offset, last: record.offset });
        // A copy of a key the partition holds at an earlier offset advances the offset like a written record. The
        // same record replayed (its own offset) is not a copy, so a batch retried after a failed commit loses nothing.
        const key = this.dedupe?.key(record);
        if (key && windows.get(appId)?.seenBefore(key, record.offset)) {
          duplicates++;
          continue;
        }
        const values = this.row(record);
        if (values) batch.push(values);
      }
      // Records already on the dead-letter topic: the commit moves the partition's offset past them.
      const passed: string[] = [];
      for (const p of options.deadLettered ?? []) {
        const appId = txnAppId(this.stream, p.topic, p.partition, clusterId);
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
      if (next.size === 0) return { version: null, written: 0, skipped, duplicates, gaps: [] };
      const gaps = [...next.entries()].flatMap(([appId, p]) => {
        const expected = committed.get(appId);
        return expected !== undefined && p.first > expected ? [{ topic: p.topic, partition: p.partition, expected, got: p.first }] : [];
      });
      const txns: TxnAction[] = [...next.entries()].map(([appId, p]) => ({ appId, version: Number(p.last + 1n) }));
      const info: Record<string, unknown> = { ...(options.info ?? {}), pulseWriter: this.writerId };
      if (options.batchId !== undefined) info['pulseBatchId'] = options.batchId;
      if (passed.length > 0) info[DEAD_LETTERS_INFO] = passed;
      if (duplicates > 0) info[DUPLICATES_INFO] = duplicates;
      try {
        const result = await this.table.appendBatch(batch, {
          operation: 'STREAMING UPDATE',
          operationParameters: { outputMode: 'Append', queryId: this.stream || this.table.path, epochId: String(options.batchId ?? -1) },
          txns,
          info,
        });
        // The windows now hold this commit's keys: up to date with the offsets it committed.
        for (const [appId, p] of next) this.windows?.committed(appId, p.last + 1n);
        return { version: result.version, written: batch.length, skipped, duplicates, gaps };
      } catch (error) {
        const lostRace = error instanceof DeltaTxnReplayError || (error instanceof DeltaConflictError && error.kind === 'transaction');
        if (!lostRace || attempt >= 20) throw error;
        // Another writer committed some of these offsets: re-read and write only what it did not.
      }
    }
  }
}
