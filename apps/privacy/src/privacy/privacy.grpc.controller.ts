import { Controller, UseFilters } from '@nestjs/common';
import { millisToTimestamp, privacyV1 } from '@pulse/contracts';
import { GrpcExceptionFilter } from '@pulse/platform';
import { PrivacyService } from './privacy.service';

/** pulse.privacy.v1.PrivacyService over the slice's service; every RPC of the proto must be here (the decorator checks). */
@Controller()
@privacyV1.PrivacyServiceControllerMethods()
@UseFilters(GrpcExceptionFilter)
export class PrivacyGrpcController implements privacyV1.PrivacyServiceController {
  constructor(private readonly service: PrivacyService) {}

  async getStatus(_request: privacyV1.GetStatusRequest): Promise<privacyV1.GetStatusResponse> {
    const status = await this.service.status();
    return { eventsHandled: status.eventsHandled, startedAt: millisToTimestamp(status.startedAtMs) };
  }
}
