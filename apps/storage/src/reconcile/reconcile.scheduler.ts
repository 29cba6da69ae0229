import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { GrpcStatusError, LOGGER, type Logger } from '@pulse/platform';
import { status } from '@grpc/grpc-js';
import { STORAGE_CONFIG, type StorageConfig } from '../config/storage.config';
import { MediaAudit } from '../media/media-audit.service';
import { GraphReconciler } from './graph-reconciler.service';

/**
 * Runs the graph reconciliation, then the media audit, every STORAGE_RECONCILE_INTERVAL on replicas with
 * STORAGE_RECONCILER=true. Passes never overlap: within a process a tick waits for the running pass, across replicas
 * the graph's lease decides (a replica that finds it taken skips its turn, media audit included). On shutdown the
 * running pass stops between two pages.
 */
@Injectable()
export class ReconcileScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly stop = new AbortController();

  constructor(
    private readonly reconciler: GraphReconciler,
    private readonly media: MediaAudit,
    @Inject(STORAGE_CONFIG) private readonly config: StorageConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap() {
    const interval = this.config.STORAGE_RECONCILE_INTERVAL;
    if (!this.config.STORAGE_RECONCILER || interval <= 0) return;
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
    this.running = this.reconciler
      .reconcile({ dryRun: false, signal: this.stop.signal })
      .then(() => this.media.audit({ dryRun: false, signal: this.stop.signal }))
      .then(() => undefined)
      .catch((err: unknown) => {
        if (err instanceof GrpcStatusError && err.code === status.FAILED_PRECONDITION)
          this.logger.info({ reason: err.message }, 'scheduled graph reconciliation skipped');
        else if (!this.stop.signal.aborted) this.logger.error({ err }, 'scheduled graph reconciliation or media audit failed');
      })
      .finally(() => (this.running = undefined));
  }
}
