import { Controller, UseFilters } from '@nestjs/common';
import { millisToTimestamp, analyticsV1 } from '@pulse/contracts';
import { GrpcExceptionFilter } from '@pulse/platform';
import { AnalyticsService } from './analytics.service';

/** pulse.analytics.v1.AnalyticsService over the slice's service; every RPC of the proto must be here (the decorator checks). */
@Controller()
@analyticsV1.AnalyticsServiceControllerMethods()
@UseFilters(GrpcExceptionFilter)
export class AnalyticsGrpcController implements analyticsV1.AnalyticsServiceController {
  constructor(private readonly service: AnalyticsService) {}

  async getStatus(_request: analyticsV1.GetStatusRequest): Promise<analyticsV1.GetStatusResponse> {
    const status = await this.service.status();
    return { eventsHandled: status.eventsHandled, startedAt: millisToTimestamp(status.startedAtMs) };
  }
}
