import { Module } from '@nestjs/common';
import { SimulatorGrpcController } from './simulator.grpc.controller';
import { SimulatorService } from './simulator.service';
import { HandledEventsRepository } from './handled-events.repository';
import { PgHandledEventsRepository } from './handled-events.pg.repository';

/** The simulator slice: gRPC controller, service, and the repository adapter bound to its port. */
@Module({
  controllers: [SimulatorGrpcController],
  providers: [SimulatorService, { provide: HandledEventsRepository, useClass: PgHandledEventsRepository }],
})
export class SimulatorModule {}
