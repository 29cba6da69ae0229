import { Module } from '@nestjs/common';
import { ConsoleHttpController } from './console.http.controller';
import { ConsoleService } from './console.service';
import { HandledEventsRepository, InMemoryHandledEventsRepository } from './handled-events.repository';

/** The console slice: HTTP controller, service, and the repository adapter bound to its port. */
@Module({
  controllers: [ConsoleHttpController],
  providers: [ConsoleService, { provide: HandledEventsRepository, useClass: InMemoryHandledEventsRepository }],
})
export class ConsoleModule {}
