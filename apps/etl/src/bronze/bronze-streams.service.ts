import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { cdcTopic, type TopicDefinition, Topics } from '@pulse/contracts';
import type { DeltaTable } from '@pulse/lake';
import { ERASURE_LIST, type ErasureList, LOGGER, type Logger } from '@pulse/platform';
import { ETL_CONFIG, type EtlConfig } from '../config/etl.config';
import { Lake } from '../lake/lake';
import { committedOffsets, ExactlyOnceDeltaSink, type KeyDedupe } from '../streams/exactly-once.sink';
import { KafkaStreamSource } from '../streams/kafka-stream-source';
import { StreamRegistry } from '../streams/stream-registry';
import type { BatchOutcome, StreamProcessor } from '../streams/stream-runner.kafka.consumer';
import { activityColumnsTopic } from './activity-columns';
import { activityBronzeTable, type BronzeTable, cdcBronzeTable, recsServedBronzeTable } from './bronze-tables';

/** The activity topic this deployment reads (tests and side-by-side deployments name their own). */
export function activityTopic(config: EtlConfig): typeof Topics.activityTracked {
  return config.ETL_ACTIVITY_TOPIC === Topics.activityTracked.name
    ? Topics.activityTracked
    : { ...Topics.activityTracked, name: config.ETL_ACTIVITY_TOPIC };
}

/** The served-lists topic this deployment reads, or undefined when ETL_SERVED_TOPIC is empty. */
export function servedTopic(config: EtlConfig): typeof Topics.recsServed | undefined {
  if (!config.ETL_SERVED_TOPIC) return undefined;
  return config.ETL_SERVED_TOPIC === Topics.recsServed.name ? Topics.recsServed : { ...Topics.recsServed, name: config.ETL_SERVED_TOPIC };
}

/** The CDC topics given by ETL_CDC_TABLES, with their qualified table names. */
export function cdcSources(config: EtlConfig) {
  return config.ETL_CDC_TABLES.map((qualified) => {
    const [schema, table] = qualified.includes('.') ? qualified.split('.') : ['public', qualified];
    return { qualified: `${schema}.${table}`, topic: cdcTopic(table, schema) };
  });
}

/**
 * The bronze streams: each source topic into its Delta table, exactly once, scaled out by partition
 * (every replica joins the same consumer group per stream). Records about users on the erasure list are skipped.
 */
@Injectable()
export class BronzeStreamsService implements OnApplicationBootstrap {
  constructor(
    @Inject(ETL_CONFIG) private readonly config: EtlConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly lake: Lake,
    private readonly registry: StreamRegistry,
    @Inject(ERASURE_LIST) private readonly erased: ErasureList,
    private readonly source: KafkaStreamSource,
  ) {}

  async onApplicationBootstrap() {
    if (!this.config.ETL_BRONZE_STREAMS) return;
    const { LAKE_TARGET_FILE_SIZE: size, LAKE_CHECKPOINT_INTERVAL: interval } = this.config;
    await this.add(activityBronzeTable(size, interval), activityColumnsTopic(activityTopic(this.config)));
    const served = servedTopic(this.config);
    if (served) await this.add(recsServedBronzeTable(size, interval), served);
    for (const source of cdcSources(this.config)) await this.add(cdcBronzeTable(source.qualified, size, interval), source.topic);
  }

  private async add<K, V>(definition: BronzeTable<K, V>, topic: TopicDefinition<K, V>) {
    const { table } = await this.lake.table(definition.name, definition.path, definition.create);
    // A record about an erased user is skipped like a tombstone: its offset advances, nothing is written.
    const sink = new ExactlyOnceDeltaSink<K, V>(
      table,
      '',
      this.source,
      (record) => (definition.subjects(record).some((u) => this.erased.has(u)) ? null : definition.row(record)),
      this.dedupe(definition, table),
    );
    const { logger, source } = this;
    const processor: StreamProcessor<K, V> = {
      async committedOffsets() {
        return new Map([[topic.name, committedOffsets(await table.refresh(), '', topic.name, await source.clusterId())]]);
      },
      async process(batch, deadLettered): Promise<BatchOutcome> {
        const result = await sink.write(batch, { deadLettered });
        for (const gap of result.gaps) {
          logger.warn(
            { table: definition.name, ...gap, expected: String(gap.expected), got: String(gap.got) },
            'offsets missing between the table and Kafka (deleted by retention?)',
          );
        }
        return result;
      },
      watermarkMs: () => null,
    };
    await this.registry.launch(definition.name, definition.name, [topic], processor);
  }

  /** One row per event id for tables with one (bronze/activity), within ETL_DEDUPE_WINDOW records per partition. */
  private dedupe<K, V>(definition: BronzeTable<K, V>, table: DeltaTable): KeyDedupe<K, V> | undefined {
    const key = definition.uniqueKey;
    if (!key || this.config.ETL_DEDUPE_WINDOW === 0) return undefined;
    const engine = this.lake.engine;
    return {
      key,
      window: this.config.ETL_DEDUPE_WINDOW,
      async load(_topic, ranges) {
        const out = new Map<number, { key: string; offset: bigint }[]>();
        for (const [partition, { from, to }] of ranges) {
          const rows = await engine.query<{ key: string; offset: bigint | number }>(
            `SELECT event_id AS key, kafka_offset AS offset FROM ${await table.scanSql()} ` +
              `WHERE kafka_partition = ${Number(partition)} AND kafka_offset >= ${BigInt(from)} AND kafka_offset < ${BigInt(to)} ` +
              'ORDER BY kafka_offset',
          );
          out.set(
            partition,
            rows.map((r) => ({ key: r.key, offset: BigInt(r.offset) })),
          );
        }
        return out;
      },
    };
  }
}
