import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  ERASURE_LIST,
  type ErasureList,
  LEADER_ELECTION,
  type LeaderElection,
  LOGGER,
  type Logger,
  ServiceMetrics,
  whenLeading,
} from '@pulse/platform';
import { Counter } from 'prom-client';
import { activityTopic, servedTopic } from '../bronze/bronze-streams.service';
import { ETL_CONFIG, type EtlConfig } from '../config/etl.config';
import { Lake } from '../lake/lake';
import { followErasures } from '../streams/erasure-follower';
import { KafkaStreamSource } from '../streams/kafka-stream-source';
import { StreamRegistry } from '../streams/stream-registry';
import { ExposureJoin, type OutcomeDisposition } from './exposure-join';
import { type ExposureCounters, ExposureStream } from './exposure-stream';
import { EXPOSURES_TABLE, exposuresTable } from './exposures-table';

/** Whether this replica runs the exposures stream. */
export function exposuresStreamEnabled(config: EtlConfig): boolean {
  return (config.ETL_EXPERIMENT_STREAM ?? config.ETL_AGGREGATE_STREAMS) && servedTopic(config) !== undefined;
}

/**
 * The served-lists topic when this replica reads it (bronze or exposures), for KafkaModule to ensure at start: a
 * consumer of a topic that does not exist yet would fail.
 */
export function servedTopics(config: EtlConfig) {
  const served = servedTopic(config);
  return served && (config.ETL_BRONZE_STREAMS || exposuresStreamEnabled(config)) ? [served] : [];
}

/**
 * Runs the exposures stream (experiments/exposures) on the one replica with ETL_EXPERIMENT_STREAM: it joins
 * two topics keyed differently (lists by recommendation_id, activity by user), so its state is not split by
 * partition and exactly one replica runs it, as the window aggregates.
 */
@Injectable()
export class ExperimentStreamsService implements OnApplicationBootstrap, OnApplicationShutdown, ExposureCounters {
  private readonly outcomes: Counter<'outcome'>;
  private stopFollowing?: () => void;
  private readonly exposures: Counter<'outcome'>;

  constructor(
    @Inject(ETL_CONFIG) private readonly config: EtlConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly lake: Lake,
    private readonly registry: StreamRegistry,
    @Inject(LEADER_ELECTION) private readonly election: LeaderElection,
    @Inject(ERASURE_LIST) private readonly erased: ErasureList,
    private readonly source: KafkaStreamSource,
    metrics: ServiceMetrics,
  ) {
    this.outcomes = new Counter({
      name: 'etl_experiment_outcomes_total',
      help: 'Activity carrying a recommendation_id, by what the exposures stream did with it: matched, outside_window, not_in_experiment, late, no_exposure',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
    this.exposures = new Counter({
      name: 'etl_experiment_exposures_total',
      help: 'Exposures written to experiments/exposures: on time (written) or after their window had closed (late)',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
  }

  onBatch(exposures: number, lateExposures: number, outcomes: Record<OutcomeDisposition, number>): void {
    this.exposures.inc({ outcome: 'written' }, exposures - lateExposures);
    if (lateExposures > 0) this.exposures.inc({ outcome: 'late' }, lateExposures);
    for (const [outcome, n] of Object.entries(outcomes)) if (n > 0) this.outcomes.inc({ outcome }, n);
  }

  async onApplicationBootstrap() {
    const served = servedTopic(this.config);
    if (!exposuresStreamEnabled(this.config) || !served) return;
    await whenLeading(this.election, this.logger, 'exposures join', () => this.launch(served));
  }

  private async launch(served: NonNullable<ReturnType<typeof servedTopic>>) {
    const { table } = await this.lake.table(
      EXPOSURES_TABLE.name,
      EXPOSURES_TABLE.path,
      exposuresTable(this.config.LAKE_TARGET_FILE_SIZE, this.config.LAKE_CHECKPOINT_INTERVAL),
    );
    const join = new ExposureJoin(this.config.ETL_ATTRIBUTION_WINDOW, this.config.ETL_WATERMARK_DELAY, this.config.ETL_ALLOWED_LATENESS);
    const stream = new ExposureStream(table, join, served, activityTopic(this.config), this, this.logger, this.source, this.erased);
    await stream.restore();
    await this.registry.launch(stream.name, EXPOSURES_TABLE.name, stream.topics, stream);
    // When the erasure list grows, the open exposures of the users erased since go, also while no batch comes.
    this.stopFollowing = followErasures(this.erased, () => [stream], this.logger);
  }

  onApplicationShutdown() {
    this.stopFollowing?.();
  }
}
