import { Module } from '@nestjs/common';
import { CdcModule } from '../cdc/cdc.module';
import { GraphModule } from '../graph/graph.module';
import { MediaModule } from '../media/media.module';
import { GraphReconciler } from './graph-reconciler.service';
import { ReconcileScheduler } from './reconcile.scheduler';

/** ReconcileGraph and the schedule of it and the media audit: the follow graph compared with itself and with the app database, and repaired. */
@Module({
  imports: [GraphModule, CdcModule, MediaModule],
  providers: [GraphReconciler, ReconcileScheduler],
  exports: [GraphReconciler],
})
export class ReconcileModule {}
