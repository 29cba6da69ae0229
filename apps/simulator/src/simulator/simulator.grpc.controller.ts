import { Controller, UseFilters } from '@nestjs/common';
import { millisToTimestamp, simulatorV1 } from '@pulse/contracts';
import { GrpcExceptionFilter } from '@pulse/platform';
import { SimulatorService } from './simulator.service';

/** pulse.simulator.v1.SimulatorService over the slice's service; every RPC of the proto must be here (the decorator checks). */
@Controller()
@simulatorV1.SimulatorServiceControllerMethods()
@UseFilters(GrpcExceptionFilter)
export class SimulatorGrpcController implements simulatorV1.SimulatorServiceController {
  constructor(private readonly service: SimulatorService) {}

  async getStatus(_request: simulatorV1.GetStatusRequest): Promise<simulatorV1.GetStatusResponse> {
    const status = await this.service.status();
    return { eventsHandled: status.eventsHandled, startedAt: millisToTimestamp(status.startedAtMs) };
  }
}
