import { type ingestV1, type recsV1, type TopicDefinition, timestampToMillis } from '@pulse/contracts';
import { ColumnBatch, type DeltaTable } from '@pulse/lake';
import type { IncomingRecord, Logger } from '@pulse/platform';
import { activityTypeName, servedItems, strategyName } from '../bronze/bronze-tables';
import { committedOffsets, hasProgress, type StreamSource, txnAppId } from '../streams/exactly-once.sink';
import type { ErasedUsers } from '../streams/erasure-follower';
import type { BatchOutcome, StreamProcessor } from '../streams/stream-runner.kafka.consumer';
import { Serial, type StreamStateRef, StreamStateFiles } from '../streams/stream-state-files';
import {
  DISPOSITIONS,
  type ExposureJoin,
  type ExposureJoinState,
  OUTCOME_TYPES,
  type OutcomeDisposition,
  type OutcomeFacts,
  type ServedFacts,
} from './exposure-join';
import { exposureRow } from './exposures-table';

type Value = recsV1.RecommendationServed | ingestV1.ActivityTracked;

const OUTCOME_SET = new Set<string>(OUTCOME_TYPES);

export interface ExposureCounters {
  onBatch(exposures: number, lateExposures: number, outcomes: Record<OutcomeDisposition, number>): void;
}

/**
 * The exposures stream: served lists (pulse.recs.served.v1) and activity (pulse.activity.tracked.v1) through the
 * ExposureJoin into experiments/exposures. Exactly once: each batch is one Delta commit holding the closed
 * exposures, the next offset of every topic-partition read (a txn each) and a reference to the join state as of
 * those offsets, so a restart (kill -9 included) resumes state and offsets together and a replayed batch is
 * filtered out by the offsets. The outcomes' dispositions are counted in each commit's operationMetrics (a counter
 * row per commit in the table's history) and in etl_experiment_outcomes_total. Lists and activity of users on the
 * erasure list are skipped (their offsets advance), and open exposures of users erased since are dropped, with every
 * older join state, before the next batch or when the list grows (forgetErased).
 */
export class ExposureStream implements StreamProcessor<string, Value> {
  readonly name = 'experiments_exposures';
  private readonly states: StreamStateFiles;
  /** Batches and erasure passes run one at a time: both change the join state and its file. */
  private readonly serial = new Serial();
  /** A batch failed: the stream stops, and the join's state is no longer the committed one. */
  private failed = false;

  constructor(
    private readonly table: DeltaTable,
    private readonly join: ExposureJoin,
    private readonly served: TopicDefinition<string, recsV1.RecommendationServed>,
    private readonly activity: TopicDefinition<string, ingestV1.ActivityTracked>,
    private readonly counters: ExposureCounters,
    private readonly logger: Logger,
    private readonly source: StreamSource,
    private readonly erased: ErasedUsers = { has: () => false },
  ) {
    this.states = new StreamStateFiles(table, this.name, logger);
  }

  get topics(): TopicDefinition<string, Value>[] {
    return [this.served, this.activity] as TopicDefinition<string, Value>[];
  }

  /** Restores the join state committed with the table's latest offsets. */
  async restore(): Promise<void> {
    const snapshot = await this.table.refresh();
    for (let v = snapshot.version; v >= 0; v--) {
      const info = await this.table.commitInfo(v);
      if (info === null) break;
      const ref = info['pulseStreamState'] as StreamStateRef | undefined;
      if (!ref || ref.stream !== this.name) continue;
      this.join.restore(await this.states.read<ExposureJoinState>(ref, v));
      await this.states.onlyKeep(ref.key);
      this.logger.info({ stream: this.name, version: v, openExposures: this.join.openExposures() }, 'exposure join state restored');
      return;
    }
    if (this.topics.some((t) => hasProgress(snapshot, this.name, t.name)))
      throw new Error(`${this.name}: the table has offsets but no join state; refusing to double-count`);
  }

  async committedOffsets(): Promise<Map<string, Map<number, bigint>>> {
    const clusterId = await this.source.clusterId();
    const snapshot = await this.table.refresh();
    return new Map(this.topics.map((t) => [t.name, committedOffsets(snapshot, this.name, t.name, clusterId)]));
  }

  watermarkMs(): number | null {
    return this.join.watermarkMs();
  }

  /**
   * Drops the open exposures of users erased since, without waiting for a batch (an idle stream): the latest
   * commit's join state is rewritten without them and every older state goes (it may hold exposures of theirs that
   * closed since). Returns how many exposures went.
   */
  forgetErased(): Promise<number> {
    return this.serial.run(async () => {
      // After a failed batch the join holds records never committed; the stream's restart restores and forgets.
      if (this.failed) return 0;
      const forgotten = this.join.forget((userId) => this.erased.has(userId));
      await this.states.keepOnlyLatest(forgotten > 0 ? this.join.snapshot() : undefined);
      if (forgotten > 0) this.logger.info({ stream: this.name, exposures: forgotten }, 'open exposures of erased users dropped');
      return forgotten;
    });
  }

  process(batch: IncomingRecord<string, Value>[]): Promise<BatchOutcome> {
    return this.serial.run(() =>
      this.processBatch(batch).catch((error: unknown) => {
        this.failed = true;
        throw error;
      }),
    );
  }

  private async processBatch(batch: IncomingRecord<string, Value>[]): Promise<BatchOutcome> {
    const clusterId = await this.source.clusterId();
    const snapshot = await this.table.refresh();
    const committed = new Map(this.topics.map((t) => [t.name, committedOffsets(snapshot, this.name, t.name, clusterId)]));
    const next = new Map<string, { topic: string; partition: number; offset: bigint }>();
    const events: ({ served: ServedFacts } | { outcome: OutcomeFacts })[] = [];
    let skipped = 0;
    for (const record of batch) {
      const from = committed.get(record.topic)?.get(record.partition);
      const taken = next.get(`${record.topic}:${record.partition}`)?.offset;
      // Before the table's offsets, or handed twice by the consumer in this batch: joined already.
      if ((from !== undefined && record.offset < from) || (taken !== undefined && record.offset < taken)) {
        skipped++;
        continue;
      }
      next.set(`${record.topic}:${record.partition}`, { topic: record.topic, partition: record.partition, offset: record.offset + 1n });
      const isServed = record.topic === this.served.name;
      if (this.erased.has(isServed ? servedUser(record) : actingUser(record))) continue;
      const event = isServed ? servedEvent(record) : outcomeEvent(record);
      if (event) events.push(event);
    }
    if (next.size === 0) return { version: null, written: 0, skipped };

    const forgotten = this.join.forget((userId) => this.erased.has(userId));
    if (forgotten > 0) this.logger.info({ stream: this.name, exposures: forgotten }, 'open exposures of erased users dropped');
    // A failed batch stops the stream; the next start restores the state committed with the table's offsets.
    const emission = this.join.process(events);
    const now = Date.now();
    const stateKey = await this.states.write(snapshot.version + 1, this.join.snapshot());
    const rows = new ColumnBatch(snapshot.schema);
    for (const e of emission.exposures) rows.push(exposureRow(e, now));
    const late = emission.exposures.filter((e) => e.lateExposure).length;
    const ref: StreamStateRef = { stream: this.name, key: stateKey, watermark: emission.watermark };
    const result = await this.table.appendBatch(rows, {
      operation: 'STREAMING UPDATE',
      operationParameters: { outputMode: 'Append', queryId: this.name, epochId: String(snapshot.version + 1) },
      operationMetrics: {
        numExposures: String(emission.exposures.length),
        numLateExposures: String(late),
        ...Object.fromEntries(DISPOSITIONS.map((d) => [`numOutcomes_${d}`, String(emission.outcomes[d])])),
      },
      txns: [...next.values()].map((p) => ({ appId: txnAppId(this.name, p.topic, p.partition, clusterId), version: Number(p.offset) })),
      info: { pulseStreamState: ref },
    });
    this.counters.onBatch(emission.exposures.length, late, emission.outcomes);
    await this.states.committed(stateKey, forgotten > 0);
    return { version: result.version, written: emission.exposures.length, skipped };
  }
}

const servedUser = (record: IncomingRecord<string, Value>) => (record.value as recsV1.RecommendationServed | null)?.userId;
const actingUser = (record: IncomingRecord<string, Value>) => (record.value as ingestV1.ActivityTracked | null)?.event?.userId;

function servedEvent(record: IncomingRecord<string, Value>): { served: ServedFacts } | null {
  const v = record.value as recsV1.RecommendationServed | null;
  if (!v?.recommendationId) return null;
  const items = servedItems(v.items);
  return {
    served: {
      recommendationId: v.recommendationId,
      experimentId: v.experimentId,
      variant: v.variant,
      userId: v.userId,
      servedAt: v.servedAt ? timestampToMillis(v.servedAt) : record.timestampMs,
      modelVersion: v.modelVersion,
      strategy: strategyName(v.strategy),
      items: JSON.stringify(items),
      itemCount: items.length,
    },
  };
}

function outcomeEvent(record: IncomingRecord<string, Value>): { outcome: OutcomeFacts } | null {
  const e = (record.value as ingestV1.ActivityTracked | null)?.event;
  if (!e?.recommendationId) return null;
  const type = activityTypeName(e.type);
  if (!OUTCOME_SET.has(type)) return null;
  const dwell = type === 'VIEW' ? Number(e.properties?.['dwell_ms'] ?? 0) : 0;
  return {
    outcome: {
      recommendationId: e.recommendationId,
      type,
      occurredAt: e.occurredAt ? timestampToMillis(e.occurredAt) : record.timestampMs,
      dwellMs: Number.isFinite(dwell) && dwell > 0 ? Math.round(dwell) : 0,
    },
  };
}
