import { Controller, UseFilters } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { storageV1 } from '@pulse/contracts';
import { GrpcExceptionFilter } from '@pulse/platform';
import { ActivityService } from './activity.service';

/** Activity RPCs of pulse.storage.v1.StorageService. */
@Controller()
@UseFilters(GrpcExceptionFilter)
export class ActivityGrpcController {
  constructor(private readonly activity: ActivityService) {}

  @GrpcMethod('StorageService', 'ListActivity')
  listActivity(request: storageV1.ListActivityRequest): Promise<storageV1.ListActivityResponse> {
    return this.activity.list(request);
  }
}
