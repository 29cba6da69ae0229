import { Controller, UseFilters } from '@nestjs/common';
import { cdcV1 } from '@pulse/contracts';
import { GrpcExceptionFilter, RequiresScope } from '@pulse/platform';
import { CaptureStatusService } from './capture-status.service';
import { StreamingSourceService } from './streaming-source.service';
import { IncrementalSnapshotService } from '../snapshot/incremental-snapshot.service';

/** pulse.cdc.v1.CdcService over gRPC: status, incremental snapshots, pause and resume of the capture. */
@Controller()
@UseFilters(GrpcExceptionFilter)
@cdcV1.CdcServiceControllerMethods()
export class CdcGrpcController implements cdcV1.CdcServiceController {
  constructor(
    private readonly status: CaptureStatusService,
    private readonly streaming: StreamingSourceService,
    private readonly snapshots: IncrementalSnapshotService,
  ) {}

  @RequiresScope('ops:read')
  async getStatus(): Promise<cdcV1.GetStatusResponse> {
    return { connector: await this.connector() };
  }

  @RequiresScope('admin')
  async pauseCapture(request: cdcV1.PauseCaptureRequest): Promise<cdcV1.PauseCaptureResponse> {
    await this.streaming.pause(request.reason ?? '');
    return { connector: await this.connector() };
  }

  @RequiresScope('admin')
  async resumeCapture(request: cdcV1.ResumeCaptureRequest): Promise<cdcV1.ResumeCaptureResponse> {
    await this.streaming.resume(request.reason ?? '');
    return { connector: await this.connector() };
  }

  @RequiresScope('admin')
  async triggerIncrementalSnapshot(request: cdcV1.TriggerIncrementalSnapshotRequest): Promise<cdcV1.TriggerIncrementalSnapshotResponse> {
    return { snapshot: await this.snapshots.trigger(request.tables ?? [], request.chunkSize ?? 0, request.additionalConditions ?? {}) };
  }

  @RequiresScope('ops:read')
  getSnapshotStatus(request: cdcV1.GetSnapshotStatusRequest): cdcV1.GetSnapshotStatusResponse {
    return { snapshot: this.snapshots.get(request.snapshotId ?? '') };
  }

  @RequiresScope('admin')
  async stopIncrementalSnapshot(request: cdcV1.StopIncrementalSnapshotRequest): Promise<cdcV1.StopIncrementalSnapshotResponse> {
    return { snapshot: await this.snapshots.stop(request.snapshotId ?? '', request.tables ?? []) };
  }

  private connector(): Promise<cdcV1.ConnectorStatus> {
    return this.status.report(this.snapshots.activeId);
  }
}
