import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { aggregateTopic, type TopicDefinition, Topics } from '@pulse/contracts';
import {
  ERASURE_LIST,
  type ErasureList,
  KAFKA_CLIENT,
  type KafkaClient,
  LEADER_ELECTION,
  type LeaderElection,
  LOGGER,
  type Logger,
  whenLeading,
} from '@pulse/platform';
import { activityTopic } from '../bronze/bronze-streams.service';
import { ETL_CONFIG, type EtlConfig } from '../config/etl.config';
import { Lake } from '../lake/lake';
import { followErasures } from '../streams/erasure-follower';
import { KafkaStreamSource } from '../streams/kafka-stream-source';
import { StreamRegistry } from '../streams/stream-registry';
import { ACTIVITY_AGGREGATES, type AggregateDefinition, aggregateTable, withPrefix } from './aggregate-definitions';
import { AggregateStream } from './aggregate-stream';
import { WindowAggregator } from './window-aggregator';

/** The late-events topic this deployment writes. */
export function lateTopic(config: EtlConfig): typeof Topics.activityLate {
  return config.ETL_LATE_TOPIC === Topics.activityLate.name ? Topics.activityLate : { ...Topics.activityLate, name: config.ETL_LATE_TOPIC };
}

/** The aggregates this deployment computes, with ETL_AGGREGATE_PREFIX applied. */
export function aggregateDefinitions(config: EtlConfig): AggregateDefinition[] {
  return ACTIVITY_AGGREGATES.map((d) => withPrefix(d, config.ETL_AGGREGATE_PREFIX));
}

/** Every topic the etl service writes or reads, for KafkaModule to ensure at start. */
export function etlTopics(config: EtlConfig): TopicDefinition<any, any>[] {
  return [activityTopic(config), lateTopic(config), ...aggregateDefinitions(config).map((d) => aggregateTopic(d.name))];
}

/** Runs the window aggregates of the activity stream (one replica: ETL_AGGREGATE_STREAMS). */
@Injectable()
export class AggregateStreamsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly streams = new Map<string, AggregateStream>();
  private stopFollowing?: () => void;

  constructor(
    @Inject(ETL_CONFIG) private readonly config: EtlConfig,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly lake: Lake,
    private readonly registry: StreamRegistry,
    @Inject(LEADER_ELECTION) private readonly election: LeaderElection,
    @Inject(ERASURE_LIST) private readonly erased: ErasureList,
    private readonly source: KafkaStreamSource,
  ) {}

  /** The stream of an aggregate (by its name as in the topic), or undefined. */
  stream(aggregate: string): AggregateStream | undefined {
    return this.streams.get(aggregate);
  }

  async onApplicationBootstrap() {
    // Replicas without the aggregates leave their tables (and their compaction) to the one that has them.
    if (!this.config.ETL_AGGREGATE_STREAMS) return;
    // On the leader only; a standby restores the windows from the tables and the offsets in them when it takes over.
    await whenLeading(this.election, this.logger, 'aggregate streams', () => this.launch());
  }

  private async launch() {
    for (const definition of aggregateDefinitions(this.config)) {
      const name = `agg_${definition.name}`;
      const { table } = await this.lake.table(
        name,
        `agg/${definition.name}`,
        aggregateTable(definition, this.config.LAKE_TARGET_FILE_SIZE, this.config.LAKE_CHECKPOINT_INTERVAL),
      );
      const aggregator = new WindowAggregator(definition, this.config.ETL_WATERMARK_DELAY, this.config.ETL_ALLOWED_LATENESS);
      const stream = new AggregateStream(
        definition,
        table,
        aggregator,
        activityTopic(this.config),
        lateTopic(this.config),
        this.kafka,
        this.logger,
        this.source,
        this.erased,
        this.config.ETL_DEDUPE_WINDOW,
      );
      this.streams.set(definition.name, stream);
      await stream.restore();
      await this.registry.launch(name, name, [activityTopic(this.config)], stream);
    }
    // When the erasure list grows, every stream drops the open windows of the users erased since.
    this.stopFollowing = followErasures(this.erased, () => this.streams.values(), this.logger);
  }

  onApplicationShutdown() {
    this.stopFollowing?.();
  }
}
