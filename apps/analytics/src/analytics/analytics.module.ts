import { Module } from '@nestjs/common';
import { AnalyticsGrpcController } from './analytics.grpc.controller';
import { AnalyticsService } from './analytics.service';
import { HandledEventsRepository } from './handled-events.repository';
import { PgHandledEventsRepository } from './handled-events.pg.repository';

/** The analytics slice: gRPC controller, service, and the repository adapter bound to its port. */
@Module({
  controllers: [AnalyticsGrpcController],
  providers: [AnalyticsService, { provide: HandledEventsRepository, useClass: PgHandledEventsRepository }],
})
export class AnalyticsModule {}
