import {
  aggregateTopic,
  etlV1,
  type ingestV1,
  millisToDuration,
  millisToTimestamp,
  type TopicDefinition,
  timestampToMillis,
  windowAggregateKey,
} from '@pulse/contracts';
import { ColumnBatch, type DeltaTable, utcDate } from '@pulse/lake';
import { type IncomingRecord, type KafkaClient, type Logger, readTopicRanges, type RecordPosition, type TopicBatch } from '@pulse/platform';
import { activityTypeName, targetTypeName } from '../bronze/bronze-tables';
import {
  committedOffsets,
  DEAD_LETTERS_INFO,
  DUPLICATES_INFO,
  hasProgress,
  KeyWindows,
  type PartitionProgress,
  type RecentKeys,
  type StreamSource,
  txnAppId,
} from '../streams/exactly-once.sink';
import type { BatchOutcome, StreamProcessor } from '../streams/stream-runner.kafka.consumer';
import type { ErasedUsers } from '../streams/erasure-follower';
import { Serial, type StreamStateRef, StreamStateFiles } from '../streams/stream-state-files';
import type { ActivityFacts, AggregateDefinition } from './aggregate-definitions';
import { type AggregatorState, type WindowAggregator, type WindowResult } from './window-aggregator';

type Tracked = ingestV1.ActivityTracked;

/** The fields aggregates read, from a tracked event; null for a record without an event. */
export function activityFacts(tracked: Tracked | null, fallbackTime: number): ActivityFacts | null {
  const e = tracked?.event;
  if (!e) return null;
  return {
    eventId: e.eventId,
    userId: e.userId,
    type: activityTypeName(e.type),
    targetType: e.target ? targetTypeName(e.target.type) : null,
    targetId: e.target?.id ?? null,
    occurredAt: e.occurredAt ? timestampToMillis(e.occurredAt) : fallbackTime,
  };
}

/**
 * One windowed aggregate as a stream: events → WindowAggregator → updates on pulse.aggregates.<name>.v1,
 * final windows into the Delta table agg/<name>, late events on the late topic. Exactly once in the
 * table: each batch is one commit carrying the final rows, the partitions' next offsets (txn) and a
 * reference to the window state as of those offsets, so a restart resumes the state and the offsets
 * together. Kafka outputs are published before the commit (at least once): a window update is keyed
 * and superseded by the next, so a replay after a crash only repeats records. Copies of an event on the
 * input (ingest acknowledges at least once: a client's retry, a replica killed between writing and
 * remembering) count once: a record whose event id its partition held at an earlier offset, within
 * `dedupeWindow` records, moves the offsets and counts nowhere (the window is read back from Kafka after a
 * restart).
 */
export class AggregateStream implements StreamProcessor<string, Tracked> {
  readonly name: string;
  /** The window state of the latest commits. */
  private readonly states: StreamStateFiles;
  /** A batch failed after the aggregator took its records in: restore from the table before the next. */
  private stale = false;
  /** The aggregator's state before any record: what a stream without a committed state goes back to. */
  private readonly initialState: AggregatorState;
  /** Per partition of the input: the event ids of its latest records (none with a dedupeWindow of 0). */
  private readonly eventIds?: KeyWindows;

  constructor(
    readonly definition: AggregateDefinition,
    private readonly table: DeltaTable,
    private readonly aggregator: WindowAggregator,
    private readonly input: TopicDefinition<string, Tracked>,
    private readonly lateTopic: TopicDefinition<string, etlV1.LateEvent>,
    private readonly kafka: KafkaClient,
    private readonly logger: Logger,
    private readonly source: StreamSource,
    private readonly erased: ErasedUsers = { has: () => false },
    dedupeWindow = 0,
  ) {
    this.name = `agg_${definition.name}`;
    this.states = new StreamStateFiles(table, this.name, logger);
    this.initialState = aggregator.snapshot();
    if (dedupeWindow > 0) {
      this.eventIds = new KeyWindows({
        window: dedupeWindow,
        load: async (_topic, ranges) => {
          const out = new Map<number, { key: string; offset: bigint }[]>();
          for (const r of await readTopicRanges(kafka, input, ranges)) {
            const eventId = r.value?.event?.eventId;
            if (!eventId) continue;
            const ofPartition = out.get(r.partition) ?? [];
            out.set(r.partition, ofPartition);
            ofPartition.push({ key: eventId, offset: r.offset });
          }
          return out;
        },
      });
    }
  }

  get topic(): TopicDefinition<string, etlV1.WindowAggregate> {
    return aggregateTopic(this.definition.name);
  }

  /** Restores the window state committed with the table's latest offsets for this stream. */
  async restore(): Promise<void> {
    const snapshot = await this.table.refresh();
    for (let v = snapshot.version; v >= 0; v--) {
      const info = await this.table.commitInfo(v);
      if (info === null) break;
      const ref = info['pulseStreamState'] as StreamStateRef | undefined;
      if (!ref || ref.stream !== this.name) continue;
      this.aggregator.restore(await this.states.read<AggregatorState>(ref, v));
      await this.states.onlyKeep(ref.key);
      this.logger.info({ stream: this.name, version: v, openWindows: this.aggregator.openWindows() }, 'window state restored');
      return;
    }
    if (hasProgress(snapshot, this.name, this.input.name)) {
      throw new Error(`${this.name}: the table has offsets but no window state; refusing to double-count`);
    }
    this.aggregator.restore(this.initialState);
  }

  async committedOffsets(): Promise<Map<string, Map<number, bigint>>> {
    const clusterId = await this.source.clusterId();
    return new Map([[this.input.name, committedOffsets(await this.table.refresh(), this.name, this.input.name, clusterId)]]);
  }

  watermarkMs(): number | null {
    return this.aggregator.watermarkMs();
  }

  /** Batches and erasure passes run one at a time: both change the window state and its file. */
  private readonly serial = new Serial();

  process(batch: IncomingRecord<string, Tracked>[], deadLettered: readonly RecordPosition[] = []): Promise<BatchOutcome> {
    return this.serial.run(async () => {
      await this.restoreIfStale();
      try {
        return await this.processBatch(batch, deadLettered);
      } catch (error) {
        // The batch is retried: the window state goes back to what the table committed (a failed commit may
        // have landed, so the table decides), as a restart would, before the records are counted again.
        this.stale = true;
        throw error;
      }
    });
  }

  private async restoreIfStale(): Promise<void> {
    if (!this.stale) return;
    await this.restore();
    this.stale = false;
  }

  /**
   * Drops the open windows of users erased since the last batch, without waiting for one (an idle stream): the
   * committed state file is rewritten without them (it is what the next batch would have written as its start)
   * and the older state files go — also when no open window was dropped: the state of the commit before holds the
   * windows that closed since, of the erased users too. Returns how many windows went.
   */
  forgetErased(): Promise<number> {
    return this.serial.run(async () => {
      if (this.definition.group.from !== 'user_id') return 0;
      // After a failed batch the aggregator holds uncommitted records: the committed state comes back first.
      await this.restoreIfStale();
      const forgotten = this.aggregator.forget((group) => this.erased.has(group));
      await this.states.keepOnlyLatest(forgotten > 0 ? this.aggregator.snapshot() : undefined);
      if (forgotten > 0) this.logger.info({ stream: this.name, windows: forgotten }, 'open windows of erased users dropped');
      return forgotten;
    });
  }

  private async processBatch(batch: IncomingRecord<string, Tracked>[], deadLettered: readonly RecordPosition[]): Promise<BatchOutcome> {
    const clusterId = await this.source.clusterId();
    const snapshot = await this.table.refresh();
    const committed = committedOffsets(snapshot, this.name, this.input.name, clusterId);
    const next = new Map<number, bigint>();
    const facts: ActivityFacts[] = [];
    const records = new Map<ActivityFacts, IncomingRecord<string, Tracked>>();
    // The headers of each group's last event of the batch: its window updates join that event's trace.
    const changedBy = new Map<string, Record<string, string>>();
    const eventIds = await this.eventIdWindows(batch, committed, clusterId);
    let skipped = 0;
    let duplicates = 0;
    for (const record of batch) {
      const from = committed.get(record.partition);
      const taken = next.get(record.partition);
      // Before the table's offset, or handed twice by the consumer in this batch: counted already.
      if ((from !== undefined && record.offset < from) || (taken !== undefined && record.offset < taken)) {
        skipped++;
        continue;
      }
      next.set(record.partition, record.offset + 1n);
      // A copy of an event its partition held at an earlier offset moves the offset and counts nowhere; the same
      // record replayed (its own offset, a batch retried) is not a copy.
      const eventId = record.value?.event?.eventId;
      if (eventId && eventIds.get(record.partition)?.seenBefore(eventId, record.offset)) {
        duplicates++;
        continue;
      }
      const f = activityFacts(record.value, record.timestampMs);
      // Events of erased users count nowhere; their offsets still advance.
      if (f && !this.erased.has(f.userId)) {
        facts.push(f);
        records.set(f, record);
        const group = this.definition.group.from === 'user_id' ? f.userId : f.targetId;
        if (group && record.headers['traceparent']) changedBy.set(group, record.headers);
      }
    }
    // Records already on the dead-letter topic: the commit moves the partition's offset past them.
    const passed: string[] = [];
    for (const p of deadLettered) {
      const from = committed.get(p.partition);
      if (p.topic !== this.input.name || (from !== undefined && p.offset < from)) continue;
      passed.push(`${p.topic}/${p.partition}/${p.offset}`);
      const seen = next.get(p.partition);
      if (seen === undefined || p.offset + 1n > seen) next.set(p.partition, p.offset + 1n);
    }
    if (next.size === 0) return { version: null, written: 0, skipped };

    // Open windows of users erased since are dropped: never emitted, gone from the state this batch writes.
    const forgotten = this.definition.group.from === 'user_id' ? this.aggregator.forget((group) => this.erased.has(group)) : 0;
    if (forgotten > 0) this.logger.info({ stream: this.name, windows: forgotten }, 'open windows of erased users dropped');
    // A batch that fails is retried after the window state is restored from the table (see process).
    const emission = this.aggregator.process(facts);
    const now = Date.now();
    const watermark = emission.watermark;
    const outputs: TopicBatch[] = [];
    const results = [...emission.updates, ...emission.finals];
    if (results.length > 0) {
      outputs.push({
        topic: this.topic,
        records: results.map((r, i) => ({
          key: windowAggregateKey(new Date(r.start), this.groupKey(r)),
          value: this.message(r, now, watermark),
          // An update is the batch's events of its group; a final closes with the watermark, of no one event.
          derivedFrom: i < emission.updates.length ? changedBy.get(r.group) : undefined,
        })),
      });
    }
    if (emission.late.length > 0) {
      outputs.push({
        topic: this.lateTopic,
        records: emission.late.map(({ facts: f, reason }) => ({
          key: f.userId,
          value: {
            tracked: records.get(f)!.value ?? undefined,
            stream: this.name,
            watermark: watermark === null ? undefined : millisToTimestamp(watermark),
            lateness: millisToDuration(Math.max(0, (watermark ?? f.occurredAt) - f.occurredAt)),
            reason: reason === 'WINDOW_CLOSED' ? etlV1.LateReason.LATE_REASON_WINDOW_CLOSED : etlV1.LateReason.LATE_REASON_BEHIND_WATERMARK,
            detectedAt: millisToTimestamp(now),
          },
        })),
      });
    }
    if (outputs.length > 0) await this.kafka.producer.sendMany(outputs);

    const stateKey = await this.states.write(snapshot.version + 1, this.aggregator.snapshot());
    const rows = new ColumnBatch(snapshot.schema);
    for (const f of emission.finals) rows.push(this.row(f, now));
    const txns = [...next].map(([partition, offset]) => ({
      appId: txnAppId(this.name, this.input.name, partition, clusterId),
      version: Number(offset),
    }));
    const ref: StreamStateRef = { stream: this.name, key: stateKey, watermark };
    const result = await this.table.appendBatch(rows, {
      operation: 'STREAMING UPDATE',
      operationParameters: { outputMode: 'Append', queryId: this.name, epochId: String(snapshot.version + 1) },
      operationMetrics: { numLateEvents: String(emission.late.length), numUpdates: String(emission.updates.length) },
      txns,
      info: {
        pulseStreamState: ref,
        ...(passed.length > 0 && { [DEAD_LETTERS_INFO]: passed }),
        ...(duplicates > 0 && { [DUPLICATES_INFO]: duplicates }),
      },
    });
    for (const [partition, offset] of next) this.eventIds?.committed(txnAppId(this.name, this.input.name, partition, clusterId), offset);
    await this.states.committed(stateKey, forgotten > 0);
    return { version: result.version, written: emission.finals.length, skipped, duplicates };
  }

  /** The event-id windows of the batch's partitions, by partition (empty without dedupe). */
  private async eventIdWindows(
    batch: readonly IncomingRecord<string, Tracked>[],
    committed: ReadonlyMap<number, bigint>,
    clusterId: string,
  ): Promise<Map<number, RecentKeys>> {
    const out = new Map<number, RecentKeys>();
    if (!this.eventIds) return out;
    const partitions = new Map<number, PartitionProgress>();
    for (const { partition } of batch) {
      if (partitions.has(partition)) continue;
      partitions.set(partition, {
        appId: txnAppId(this.name, this.input.name, partition, clusterId),
        partition,
        committed: committed.get(partition),
      });
    }
    const windows = await this.eventIds.of(this.input.name, [...partitions.values()]);
    for (const [partition, p] of partitions) out.set(partition, windows.get(p.appId)!);
    return out;
  }

  private groupKey(r: WindowResult): Record<string, string> {
    return { [this.definition.group.column]: r.group };
  }

  private message(r: WindowResult, now: number, watermark: number | null): etlV1.WindowAggregate {
    const spec = this.definition.window;
    const metrics: Record<string, number> = {};
    this.definition.counters.forEach((c, i) => (metrics[c.name] = r.counters[i]));
    this.definition.derived.forEach((d, i) => (metrics[d.name] = r.derived[i]));
    return {
      aggregate: this.definition.name,
      windowStart: millisToTimestamp(r.start),
      windowEnd: millisToTimestamp(r.end),
      windowKind:
        spec.kind === 'tumbling'
          ? etlV1.WindowKind.WINDOW_KIND_TUMBLING
          : spec.kind === 'sliding'
            ? etlV1.WindowKind.WINDOW_KIND_SLIDING
            : etlV1.WindowKind.WINDOW_KIND_SESSION,
      slide: spec.kind === 'sliding' ? millisToDuration(spec.slideMs) : undefined,
      groupKey: this.groupKey(r),
      metrics,
      emittedAt: millisToTimestamp(now),
      watermark: watermark === null ? undefined : millisToTimestamp(watermark),
      isFinal: r.isFinal,
      updateCount: r.updateCount,
    };
  }

  private row(r: WindowResult, now: number) {
    return [r.start, r.end, r.group, ...r.counters, ...r.derived, r.updateCount, now, utcDate(r.start)];
  }
}
