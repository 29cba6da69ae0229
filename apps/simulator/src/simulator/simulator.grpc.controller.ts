import { Controller, UseFilters } from '@nestjs/common';
import { simulatorV1 } from '@pulse/contracts';
import { GrpcExceptionFilter, RequiresScope } from '@pulse/platform';
import { SimulatorService } from './simulator.service';

/** pulse.simulator.v1.SimulatorService over the slice's service; every RPC of the proto must be here (the decorator checks). */
@Controller()
@simulatorV1.SimulatorServiceControllerMethods()
@UseFilters(GrpcExceptionFilter)
export class SimulatorGrpcController implements simulatorV1.SimulatorServiceController {
  constructor(private readonly service: SimulatorService) {}

  @RequiresScope('ops:read')
  getStatus(_request: simulatorV1.GetStatusRequest): simulatorV1.GetStatusResponse {
    return this.service.status();
  }

  @RequiresScope('admin')
  setRate(request: simulatorV1.SetRateRequest): simulatorV1.SetRateResponse {
    return this.service.setRate(request);
  }
}
