import { Module } from '@nestjs/common';
import { ActivityModule } from '../activity/activity.module';
import { ErasureModule } from '../erasure/erasure.module';
import { GraphModule } from '../graph/graph.module';
import { MediaModule } from '../media/media.module';
import { ProfilesModule } from '../profiles/profiles.module';
import { ReconcileModule } from '../reconcile/reconcile.module';
import { StorageGrpcController } from './storage.grpc.controller';

/** pulse.storage.v1.StorageService: one controller over the profiles, graph, activity, media, erasure and reconciliation slices. */
@Module({
  imports: [ProfilesModule, GraphModule, ActivityModule, MediaModule, ErasureModule, ReconcileModule],
  controllers: [StorageGrpcController],
})
export class StorageModule {}
