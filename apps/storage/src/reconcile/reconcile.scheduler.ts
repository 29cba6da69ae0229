import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { status } from '@grpc/grpc-js';
import { GrpcStatusError, LOGGER, type Logger } from '@pulse/platform';
import { STORAGE_CONFIG, type StorageConfig } from '../config/storage.config';
import { MediaAudit } from '../media/media-audit.service';
import { PeriodicTask } from '../shared/periodic-task';
import { GraphReconciler } from './graph-reconciler.service';

/**
 * Runs the graph reconciliation, then the media audit, every STORAGE_RECONCILE_INTERVAL on replicas with
 * STORAGE_RECONCILER=true. Passes never overlap: within a process a tick waits for the running pass, across replicas
 * the graph's lease decides (a replica that finds it taken skips its turn, media audit included). On shutdown the
 * running pass stops between two pages.
 */
@Injectable()
export class ReconcileScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly task = new PeriodicTask(async (signal) => {
    try {
      await this.reconciler.reconcile({ dryRun: false, signal });
      await this.media.audit({ dryRun: false, signal });
    } catch (err) {
      if (err instanceof GrpcStatusError && err.code === status.FAILED_PRECONDITION)
        this.logger.info({ reason: err.message }, 'scheduled graph reconciliation skipped');
      else if (!signal.aborted) this.logger.error({ err }, 'scheduled graph reconciliation or media audit failed');
    }
  });

  constructor(
    private readonly reconciler: GraphReconciler,
    private readonly media: MediaAudit,
    @Inject(STORAGE_CONFIG) private readonly config: StorageConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap() {
    const interval = this.config.STORAGE_RECONCILE_INTERVAL;
    if (!this.config.STORAGE_RECONCILER || interval <= 0) return;
    this.task.start(interval);
  }

  async onApplicationShutdown() {
    await this.task.stop();
  }
}
