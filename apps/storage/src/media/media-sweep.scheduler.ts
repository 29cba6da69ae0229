import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { LOGGER, type Logger } from '@pulse/platform';
import { STORAGE_CONFIG, type StorageConfig } from '../config/storage.config';
import { PeriodicTask } from '../shared/periodic-task';
import { MediaLifecycleService } from './media-lifecycle.service';

/**
 * Runs the lifecycle sweep every MEDIA_SWEEP_INTERVAL on replicas with MEDIA_SWEEPER=true (and rules
 * configured). Sweeps never overlap within a process; on shutdown the running one stops between two
 * objects.
 */
@Injectable()
export class MediaSweepScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly task = new PeriodicTask((signal) =>
    this.lifecycle
      .sweep({ dryRun: false, prefix: '', maxActions: 0, signal })
      .then(() => undefined)
      .catch((err: unknown) => this.logger.error({ err }, 'scheduled lifecycle sweep failed')),
  );

  constructor(
    private readonly lifecycle: MediaLifecycleService,
    @Inject(STORAGE_CONFIG) private readonly config: StorageConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap() {
    const interval = this.config.MEDIA_SWEEP_INTERVAL;
    if (!this.config.MEDIA_SWEEPER || interval <= 0 || this.lifecycle.rules.length === 0) return;
    this.task.start(interval);
  }

  async onApplicationShutdown() {
    await this.task.stop();
  }
}
