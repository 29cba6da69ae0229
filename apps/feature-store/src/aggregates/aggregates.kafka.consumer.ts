import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { aggregateTopic, type etlV1, type TopicDefinition, timestampToMillis } from '@pulse/contracts';
import {
  HealthRegistry,
  type IncomingRecord,
  KAFKA_CLIENT,
  type KafkaClient,
  LOGGER,
  type Logger,
  ServiceMetrics,
  type SupervisedConsumer,
  superviseConsumer,
} from '@pulse/platform';
import { Counter, Histogram } from 'prom-client';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from '../config/feature-store.config';
import { OnlineStoreRepository, type OnlineWrite, WriteOutcome } from '../online/online-store.redis.repository';
import { onlineWrite } from '../online/online-writes';
import type { PlainValue } from '../online/value-codec';
import { aggregateName } from '../registry/definitions';
import type { LoadedRegistry, ServedView } from '../registry/loaded-registry';
import { RegistryCache } from '../registry/registry.cache';

type Outcome = 'written' | 'unchanged' | 'stale' | 'window_open' | 'missing_join_key';

/**
 * Pushes the window results of the etl service's aggregates topics (`pulse.aggregates.<name>.v1`) online,
 * for every online feature view whose source is such a topic: group key entries are the join keys,
 * metrics the features (a metric the record lacks is null), the event time the window's end (or start,
 * as the view's source says). A window is pushed once the stream's watermark has passed its end (or it
 * is final): an open window's partial counts never reach the online store, just as the offline store
 * has no row for it yet. Later updates of a closed window (late data) overwrite it; a record older
 * than what the store holds is not written. Offsets are committed after Redis acknowledged the batch;
 * a record that cannot be decoded goes to pulse.deadletter.<group>.v1, Redis being down is retried.
 * The topic set follows the registry: a new version with other topics restarts the consumer.
 */
@Injectable()
export class AggregatesKafkaConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private supervised?: SupervisedConsumer;
  private topics = '';
  private unsubscribe?: () => void;
  private restarting: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly records: Counter<'outcome'>;
  private readonly delay: Histogram;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(FEATURE_STORE_CONFIG) private readonly config: FeatureStoreConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly registry: RegistryCache,
    private readonly store: OnlineStoreRepository,
    private readonly health: HealthRegistry,
    private readonly metrics: ServiceMetrics,
  ) {
    this.records = new Counter({
      name: 'feature_store_aggregate_records_total',
      help: 'Aggregate records handled per view, by outcome (window_open: not pushed until the window closes)',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
    this.delay = new Histogram({
      name: 'feature_store_aggregate_online_delay_seconds',
      help: "From a window result's event time (the window's end, as the view's source says) to its being online",
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
      registers: [metrics.registry],
    });
  }

  async onApplicationBootstrap() {
    if (!this.config.FEATURE_STORE_AGGREGATES_CONSUMER) return;
    await this.follow(this.registry.current);
    this.unsubscribe = this.registry.onChange((registry) => {
      this.restarting = this.restarting
        .then(() => this.follow(registry))
        .catch((error: unknown) => {
          this.logger.error({ err: error }, 'could not follow the new registry version; the aggregates consumer keeps its topics');
        });
    });
  }

  async onApplicationShutdown() {
    this.stopped = true;
    this.unsubscribe?.();
    await this.restarting;
    await this.supervised?.stop();
  }

  /** Count of records by outcome (for tests and /metrics). */
  async counts(): Promise<Record<string, number>> {
    const metric = await this.records.get();
    return Object.fromEntries(metric.values.map((v) => [String(v.labels.outcome), v.value]));
  }

  private async follow(registry: LoadedRegistry): Promise<void> {
    const topics = [...registry.topics]
      .filter(([, views]) => views.some((v) => v.def.online))
      .map(([t]) => t)
      .sort();
    const key = topics.join(',');
    if (key === this.topics || this.stopped) return;
    await this.supervised?.stop();
    this.supervised = undefined;
    this.topics = key;
    if (topics.length === 0) return;
    const definitions: TopicDefinition<string, etlV1.WindowAggregate>[] = topics.map((t) => aggregateTopic(aggregateName(t) ?? t));
    // The etl service owns these topics; creating a missing one with the same definition lets the feature store start first.
    await this.kafka.admin.ensureTopics(definitions);
    this.logger.info({ topics }, 'consuming aggregates topics');
    this.supervised = superviseConsumer({
      name: 'aggregates-consumer',
      kafka: this.kafka,
      topics: definitions,
      consume: { groupId: this.config.FEATURE_STORE_AGGREGATES_GROUP, from: 'earliest', maxBatchSize: 1000 },
      handler: (batch) => this.handle(batch),
      logger: this.logger,
      health: this.health,
      metrics: this.metrics,
    });
  }

  private async handle(batch: IncomingRecord<string, etlV1.WindowAggregate>[]): Promise<void> {
    const registry = this.registry.current;
    const writes: OnlineWrite[] = [];
    const tally = new Map<Outcome, number>();
    const count = (o: Outcome, n = 1) => tally.set(o, (tally.get(o) ?? 0) + n);
    for (const record of batch) {
      const aggregate = record.value;
      if (!aggregate) continue; // a tombstone of a compacted window: nothing to serve
      for (const view of registry.topics.get(record.topic) ?? []) {
        if (!view.def.online) continue;
        const write = this.toWrite(view, aggregate);
        if (typeof write === 'string') count(write);
        else writes.push(write);
      }
    }
    const outcomes = await this.store.writeMany(writes);
    const now = Date.now();
    outcomes.forEach((o, i) => {
      count(o === WriteOutcome.Written ? 'written' : o === WriteOutcome.Unchanged ? 'unchanged' : 'stale');
      if (o === WriteOutcome.Written) this.delay.observe(Math.max(0, now - writes[i].eventTimeMs) / 1000);
    });
    for (const [outcome, n] of tally) this.records.inc({ outcome }, n);
    const missing = tally.get('missing_join_key');
    if (missing) this.logger.warn({ records: missing }, 'aggregate records without the join keys of their views were not pushed');
  }

  private toWrite(view: ServedView, a: etlV1.WindowAggregate): OnlineWrite | Outcome {
    const end = a.windowEnd && timestampToMillis(a.windowEnd);
    const watermark = a.watermark && timestampToMillis(a.watermark);
    if (!a.isFinal && (watermark === undefined || end === undefined || watermark < end)) return 'window_open';
    const eventMs = view.def.source.timestampField === 'window_start' ? a.windowStart && timestampToMillis(a.windowStart) : end;
    if (eventMs === undefined) return 'window_open';
    const keys = new Map<string, PlainValue>();
    for (const k of view.joinKeys) {
      const raw = a.groupKey?.[k];
      if (raw === undefined) return 'missing_join_key';
      const type = view.joinKeyTypes.get(k);
      if (type === 'int32' || type === 'int64') {
        const n = Number(raw);
        if (!Number.isInteger(n)) return 'missing_join_key';
        keys.set(k, n);
      } else keys.set(k, raw);
    }
    const values = new Map<string, PlainValue>();
    for (const f of view.def.features) {
      const m = a.metrics?.[f.name];
      values.set(f.name, m === undefined ? null : f.valueType === 'int32' || f.valueType === 'int64' ? Math.round(m) : m);
    }
    return onlineWrite(view, keys, eventMs, values, this.config.FEATURE_STORE_EXPIRED_RETENTION);
  }
}
