import { Module } from '@nestjs/common';
import { ExperimentsGrpcController } from './experiments.grpc.controller';
import { ExperimentsService } from './experiments.service';
import { HandledEventsRepository } from './handled-events.repository';
import { PgHandledEventsRepository } from './handled-events.pg.repository';

/** The experiments slice: gRPC controller, service, and the repository adapter bound to its port. */
@Module({
  controllers: [ExperimentsGrpcController],
  providers: [ExperimentsService, { provide: HandledEventsRepository, useClass: PgHandledEventsRepository }],
})
export class ExperimentsModule {}
