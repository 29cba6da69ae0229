import { Controller, UseFilters } from '@nestjs/common';
import { millisToTimestamp, experimentsV1 } from '@pulse/contracts';
import { GrpcExceptionFilter } from '@pulse/platform';
import { ExperimentsService } from './experiments.service';

/** pulse.experiments.v1.ExperimentsService over the slice's service; every RPC of the proto must be here (the decorator checks). */
@Controller()
@experimentsV1.ExperimentsServiceControllerMethods()
@UseFilters(GrpcExceptionFilter)
export class ExperimentsGrpcController implements experimentsV1.ExperimentsServiceController {
  constructor(private readonly service: ExperimentsService) {}

  async getStatus(_request: experimentsV1.GetStatusRequest): Promise<experimentsV1.GetStatusResponse> {
    const status = await this.service.status();
    return { eventsHandled: status.eventsHandled, startedAt: millisToTimestamp(status.startedAtMs) };
  }
}
