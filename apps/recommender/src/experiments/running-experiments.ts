import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { experimentsV1 } from '@pulse/contracts';
import { type Assignment, assignUser } from '@pulse/experiments';
import { LOGGER, type Logger, PeerClient, ServiceMetrics, peerSecurity } from '@pulse/platform';
import { Counter, Gauge } from 'prom-client';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from '../config/recommender.config';

/** A running experiment as ListExperiments answers it (proto-loader's plain objects). */
export type RunningExperiment = experimentsV1.Experiment;

/** What a user's list serves: a model version, the default pipeline, or the popularity list. */
export type Treatment = { kind: 'model'; version: string } | { kind: 'promoted' } | { kind: 'popular' };

export interface ExperimentAssignment {
  experimentId: string;
  variant: string;
  treatment: Treatment;
}

/**
 * The running experiments, read from the experiments service every RECS_EXPERIMENTS_POLL (ListExperiments,
 * status RUNNING, through a PeerClient) and kept when it is unreachable; the assignment of a user is a pure
 * function of them (`assignUser` of @pulse/experiments: layer bucket, then variant by weight), so every replica,
 * before and after a restart, serves a user the same variant. The experiments service is never on the serving path.
 */
@Injectable()
export class RunningExperiments implements OnModuleInit, OnApplicationShutdown {
  private running: RunningExperiment[] = [];
  private readonly peer?: PeerClient;
  private timer?: NodeJS.Timeout;
  private readonly assigned: Counter<'experiment' | 'variant'>;
  private readonly count: Gauge;

  constructor(
    @Inject(RECOMMENDER_CONFIG) private readonly config: RecommenderConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: ServiceMetrics,
  ) {
    if (config.RECS_EXPERIMENTS_POLL > 0) {
      this.peer = new PeerClient({
        name: 'experiments',
        address: config.EXPERIMENTS_GRPC_ADDR,
        protoFile: 'pulse/experiments/v1/experiments_service.proto',
        service: 'pulse.experiments.v1.ExperimentsService',
        deadlineMs: 2_000,
        retries: 1,
        registry: metrics.registry,
        // The recommender's own key (PULSE_API_KEY) carries experiments:read besides storage:read and features:read.
        ...peerSecurity(config),
      });
    }
    this.assigned = new Counter({
      name: 'recs_experiment_lists_total',
      help: 'Lists served in an experiment, by experiment and variant',
      labelNames: ['experiment', 'variant'],
      registers: [metrics.registry],
    });
    this.count = new Gauge({
      name: 'recs_experiments_running',
      help: 'Running experiments this replica knows',
      registers: [metrics.registry],
    });
  }

  onModuleInit(): void {
    if (!this.peer) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.config.RECS_EXPERIMENTS_POLL);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.peer?.close();
  }

  /** Reads the running experiments now (the poll does it on its own). */
  async refresh(): Promise<void> {
    if (!this.peer) return;
    try {
      const response = await this.peer.call<experimentsV1.ListExperimentsResponse>('ListExperiments', {
        status: experimentsV1.ExperimentStatus.EXPERIMENT_STATUS_RUNNING,
        layer: '',
      });
      this.running = response.experiments;
      this.count.set(this.running.length);
    } catch (error) {
      this.logger.debug({ err: error }, 'reading the running experiments failed; keeping the last answer');
    }
  }

  /** The experiment and variant of a user's list, or undefined for the default. */
  assign(userId: string): ExperimentAssignment | undefined {
    if (this.running.length === 0) return undefined;
    const assignment: Assignment<RunningExperiment> | null = assignUser(this.running, userId);
    if (!assignment) return undefined;
    const v = assignment.variant;
    this.assigned.inc({ experiment: assignment.experiment.id, variant: v.name });
    const treatment: Treatment = v.modelVersion
      ? { kind: 'model', version: v.modelVersion }
      : v.strategy === experimentsV1.ServingStrategy.SERVING_STRATEGY_POPULAR
        ? { kind: 'popular' }
        : { kind: 'promoted' };
    return { experimentId: assignment.experiment.id, variant: v.name, treatment };
  }
}
