import { Controller, Get } from '@nestjs/common';
import { ConsoleService } from './console.service';

/** The console service's HTTP routes (it serves no gRPC); health and metrics come from the platform. */
@Controller()
export class ConsoleHttpController {
  constructor(private readonly service: ConsoleService) {}

  /** `GET /status`: events handled and when the service started. */
  @Get('status')
  async status(): Promise<{ eventsHandled: number; startedAt: string }> {
    const status = await this.service.status();
    return { eventsHandled: status.eventsHandled, startedAt: new Date(status.startedAtMs).toISOString() };
  }
}
