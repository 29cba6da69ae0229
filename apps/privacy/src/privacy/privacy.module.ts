import { Module } from '@nestjs/common';
import { PrivacyGrpcController } from './privacy.grpc.controller';
import { PrivacyService } from './privacy.service';
import { HandledEventsRepository } from './handled-events.repository';
import { PgHandledEventsRepository } from './handled-events.pg.repository';

/** The privacy slice: gRPC controller, service, and the repository adapter bound to its port. */
@Module({
  controllers: [PrivacyGrpcController],
  providers: [PrivacyService, { provide: HandledEventsRepository, useClass: PgHandledEventsRepository }],
})
export class PrivacyModule {}
