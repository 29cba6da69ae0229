import { Controller, UseFilters } from '@nestjs/common';
import { cdcV1 } from '@pulse/contracts';
import { GrpcExceptionFilter } from '@pulse/platform';
import { CaptureService } from './capture.service';

/** pulse.cdc.v1.CdcService over gRPC: status, incremental snapshots, pause and resume of the capture. */
@Controller()
@UseFilters(GrpcExceptionFilter)
@cdcV1.CdcServiceControllerMethods()
export class CdcGrpcController implements cdcV1.CdcServiceController {
  constructor(private readonly capture: CaptureService) {}

  async getStatus(): Promise<cdcV1.GetStatusResponse> {
    return { connector: await this.capture.status() };
  }

  async pauseCapture(request: cdcV1.PauseCaptureRequest): Promise<cdcV1.PauseCaptureResponse> {
    await this.capture.pause(request.reason ?? '');
    return { connector: await this.capture.status() };
  }

  async resumeCapture(request: cdcV1.ResumeCaptureRequest): Promise<cdcV1.ResumeCaptureResponse> {
    await this.capture.resume(request.reason ?? '');
    return { connector: await this.capture.status() };
  }

  async triggerIncrementalSnapshot(request: cdcV1.TriggerIncrementalSnapshotRequest): Promise<cdcV1.TriggerIncrementalSnapshotResponse> {
    const snapshot = await this.capture.triggerIncrementalSnapshot(
      request.tables ?? [],
      request.chunkSize ?? 0,
      request.additionalConditions ?? {},
    );
    return { snapshot };
  }

  getSnapshotStatus(request: cdcV1.GetSnapshotStatusRequest): cdcV1.GetSnapshotStatusResponse {
    return { snapshot: this.capture.getIncrementalSnapshot(request.snapshotId ?? '') };
  }

  async stopIncrementalSnapshot(request: cdcV1.StopIncrementalSnapshotRequest): Promise<cdcV1.StopIncrementalSnapshotResponse> {
    return { snapshot: await this.capture.stopIncrementalSnapshot(request.snapshotId ?? '', request.tables ?? []) };
  }
}
