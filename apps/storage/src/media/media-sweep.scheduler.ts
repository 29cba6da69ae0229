import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { LOGGER, type Logger } from '@pulse/platform';
import { STORAGE_CONFIG, type StorageConfig } from '../config/storage.config';
import { MediaLifecycleService } from './media-lifecycle.service';

/**
 * Runs the lifecycle sweep every MEDIA_SWEEP_INTERVAL on replicas with MEDIA_SWEEPER=true (and rules
 * configured). Sweeps never overlap within a process; on shutdown the running one stops between two
 * objects.
 */
@Injectable()
export class MediaSweepScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly stop = new AbortController();

  constructor(
    private readonly lifecycle: MediaLifecycleService,
    @Inject(STORAGE_CONFIG) private readonly config: StorageConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap() {
    const interval = this.config.MEDIA_SWEEP_INTERVAL;
    if (!this.config.MEDIA_SWEEPER || interval <= 0 || this.lifecycle.rules.length === 0) return;
    this.timer = setInterval(() => this.tick(), interval);
    this.timer.unref();
  }

  async onApplicationShutdown() {
    clearInterval(this.timer);
    this.stop.abort();
    await this.running;
  }

  private tick() {
    if (this.running) return;
    this.running = this.lifecycle
      .sweep({ dryRun: false, prefix: '', maxActions: 0, signal: this.stop.signal })
      .then(() => undefined)
      .catch((err: unknown) => this.logger.error({ err }, 'scheduled lifecycle sweep failed'))
      .finally(() => (this.running = undefined));
  }
}
