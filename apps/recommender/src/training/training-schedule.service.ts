import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NO_DATA_EXIT } from '../cli/exit-codes';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from '../config/recommender.config';
import { RecsService } from '../serving/recs.service';
import { TrainLock } from './train-lock';
import { TrainScheduler } from './train-scheduler';

/**
 * Scheduled training from the lake (RECS_TRAIN_INTERVAL, 0 = off): `node recs.js train --source lake --gate`
 * beside this service's main.js, with RECS_TRAIN_ARGS, on the registry this replica serves from. The lock
 * (train.lock) and the last run's record (train-schedule.json) live in the registry directory.
 */
@Injectable()
export class TrainingSchedule implements OnApplicationBootstrap, OnApplicationShutdown {
  private scheduler?: TrainScheduler;

  constructor(
    @Inject(RECOMMENDER_CONFIG) private readonly config: RecommenderConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly recs: RecsService,
    private readonly metrics: ServiceMetrics,
  ) {}

  onApplicationBootstrap() {
    const c = this.config;
    if (c.RECS_TRAIN_INTERVAL <= 0) return;
    // The built app: dist/apps/recommender/main.js runs, recs.js is beside it.
    const file = join(dirname(process.argv[1] ?? '.'), 'recs.js');
    if (!existsSync(file)) {
      this.logger.error({ file }, 'scheduled training is off: the recs command line is not beside main.js');
      return;
    }
    const dir = c.RECS_MODELS_DIR;
    const args = [
      'train',
      '--source',
      'lake',
      '--gate',
      '--json',
      '--models-dir',
      dir,
      '--lake-root',
      c.RECS_LAKE_ROOT,
      '--cdc-schema',
      c.RECS_CDC_SCHEMA,
      '--backend',
      c.RECS_TF_BACKEND,
      ...c.RECS_TRAIN_ARGS,
    ];
    this.scheduler = new TrainScheduler({
      intervalMs: c.RECS_TRAIN_INTERVAL,
      delayMs: c.RECS_TRAIN_DELAY,
      timeoutMs: c.RECS_TRAIN_TIMEOUT,
      lock: new TrainLock(join(dir, 'train.lock'), c.RECS_TRAIN_LOCK_STALE),
      statePath: join(dir, 'train-schedule.json'),
      command: { file, args },
      noDataExitCode: NO_DATA_EXIT,
      logger: this.logger,
      metrics: this.metrics.registry,
      onPromoted: () => this.recs.syncPromoted(true),
    });
    this.scheduler.start();
    this.logger.info({ every: c.RECS_TRAIN_INTERVAL, first: c.RECS_TRAIN_DELAY, args: args.join(' ') }, 'scheduled training on');
  }

  async onApplicationShutdown() {
    await this.scheduler?.stop();
  }
}
