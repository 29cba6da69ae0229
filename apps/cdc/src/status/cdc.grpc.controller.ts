import { Controller, UseFilters } from '@nestjs/common';
import { cdcV1 } from '@pulse/contracts';
import { GrpcExceptionFilter, grpcErrors, GrpcStatus, GrpcStatusError } from '@pulse/platform';
import { CaptureService } from '../capture/capture.service';

const MAX_REASON_LENGTH = 512;

function checkReason(reason: string | undefined): string {
  const text = reason ?? '';
  if (text.length > MAX_REASON_LENGTH) throw grpcErrors.invalidArgument('reason', `at most ${MAX_REASON_LENGTH} characters`);
  return text;
}

function incrementalSnapshotsUnimplemented(): never {
  throw new GrpcStatusError(
    GrpcStatus.UNIMPLEMENTED,
    'incremental snapshots are not available yet in this cdc service; the initial snapshot runs when the replication slot is created',
  );
}

/** pulse.cdc.v1.CdcService over gRPC: status, pause and resume of the capture. */
@Controller()
@UseFilters(GrpcExceptionFilter)
@cdcV1.CdcServiceControllerMethods()
export class CdcGrpcController implements cdcV1.CdcServiceController {
  constructor(private readonly capture: CaptureService) {}

  async getStatus(): Promise<cdcV1.GetStatusResponse> {
    return { connector: await this.capture.status() };
  }

  async pauseCapture(request: cdcV1.PauseCaptureRequest): Promise<cdcV1.PauseCaptureResponse> {
    await this.capture.pause(checkReason(request.reason));
    return { connector: await this.capture.status() };
  }

  async resumeCapture(request: cdcV1.ResumeCaptureRequest): Promise<cdcV1.ResumeCaptureResponse> {
    await this.capture.resume(checkReason(request.reason));
    return { connector: await this.capture.status() };
  }

  triggerIncrementalSnapshot(): cdcV1.TriggerIncrementalSnapshotResponse {
    incrementalSnapshotsUnimplemented();
  }

  getSnapshotStatus(): cdcV1.GetSnapshotStatusResponse {
    incrementalSnapshotsUnimplemented();
  }

  stopIncrementalSnapshot(): cdcV1.StopIncrementalSnapshotResponse {
    incrementalSnapshotsUnimplemented();
  }
}
