import { Module } from '@nestjs/common';
import { EventDedupRepository } from './event-dedup.redis.repository';
import { TrackEventsGrpcController } from './track-events.grpc.controller';
import { TrackEventsService } from './track-events.service';

@Module({
  controllers: [TrackEventsGrpcController],
  providers: [TrackEventsService, EventDedupRepository],
})
export class TrackEventsModule {}
