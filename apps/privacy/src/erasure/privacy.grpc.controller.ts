import { Controller, UseFilters } from '@nestjs/common';
import { privacyV1 } from '@pulse/contracts';
import { GrpcExceptionFilter, RequiresScope } from '@pulse/platform';
import { ErasureService } from './erasure.service';

/** pulse.privacy.v1.PrivacyService over gRPC; every RPC of the proto must be here (the decorator checks). */
@Controller()
@privacyV1.PrivacyServiceControllerMethods()
@UseFilters(GrpcExceptionFilter)
export class PrivacyGrpcController implements privacyV1.PrivacyServiceController {
  constructor(private readonly erasures: ErasureService) {}

  @RequiresScope('privacy:erase')
  eraseUser(request: privacyV1.EraseUserRequest): Promise<privacyV1.EraseUserResponse> {
    return this.erasures.erase(request);
  }

  @RequiresScope('privacy:read')
  getErasure(request: privacyV1.GetErasureRequest): Promise<privacyV1.GetErasureResponse> {
    return this.erasures.get(request);
  }

  @RequiresScope('privacy:read')
  listErasures(request: privacyV1.ListErasuresRequest): Promise<privacyV1.ListErasuresResponse> {
    return this.erasures.list(request);
  }
}
