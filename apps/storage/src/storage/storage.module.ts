import { Module } from '@nestjs/common';
import { ActivityModule } from '../activity/activity.module';
import { ErasureModule } from '../erasure/erasure.module';
import { GraphModule } from '../graph/graph.module';
import { MediaModule } from '../media/media.module';
import { ProfilesModule } from '../profiles/profiles.module';
import { StorageGrpcController } from './storage.grpc.controller';

/** pulse.storage.v1.StorageService: one controller over the profiles, graph, activity, media and erasure slices. */
@Module({ imports: [ProfilesModule, GraphModule, ActivityModule, MediaModule, ErasureModule], controllers: [StorageGrpcController] })
export class StorageModule {}
