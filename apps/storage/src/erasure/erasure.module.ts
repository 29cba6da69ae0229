import { Module } from '@nestjs/common';
import { GraphModule } from '../graph/graph.module';
import { MediaModule } from '../media/media.module';
import { ProfilesModule } from '../profiles/profiles.module';
import { UserDataRepository } from './user-data.cassandra.repository';
import { UserDataEraserService } from './user-data-eraser.service';

/** EraseUserData: the removal of everything storage holds about a user, over the other slices. */
@Module({
  imports: [ProfilesModule, GraphModule, MediaModule],
  providers: [UserDataEraserService, UserDataRepository],
  exports: [UserDataEraserService],
})
export class ErasureModule {}
