import { Controller, UseFilters } from '@nestjs/common';
import { etlV1, timestampToMillis } from '@pulse/contracts';
import { GrpcExceptionFilter, RequiresScope } from '@pulse/platform';
import { BackfillService } from '../backfill/backfill.service';
import { EtlOperationsService } from './etl-operations.service';
import { TableReaderService } from './table-reader.service';

/** pulse.etl.v1.EtlService over gRPC: status, table history and preview, table maintenance, backfills, stream control. */
@Controller()
@UseFilters(GrpcExceptionFilter)
@etlV1.EtlServiceControllerMethods()
export class EtlGrpcController implements etlV1.EtlServiceController {
  constructor(
    private readonly operations: EtlOperationsService,
    private readonly backfills: BackfillService,
    private readonly tables: TableReaderService,
  ) {}

  @RequiresScope('ops:read')
  getStatus(): Promise<etlV1.GetStatusResponse> {
    return this.operations.status();
  }

  @RequiresScope('ops:read')
  getTableHistory(request: etlV1.GetTableHistoryRequest): Promise<etlV1.GetTableHistoryResponse> {
    return this.tables.history({ table: request.table ?? '', pageSize: request.pageSize ?? 0, pageToken: request.pageToken ?? '' });
  }

  @RequiresScope('ops:read')
  previewTable(request: etlV1.PreviewTableRequest): Promise<etlV1.PreviewTableResponse> {
    return this.tables.preview({ table: request.table ?? '', version: request.version ?? undefined, limit: request.limit ?? 0 });
  }

  @RequiresScope('admin')
  compactTable(request: etlV1.CompactTableRequest): Promise<etlV1.CompactTableResponse> {
    return this.operations.compact({
      table: request.table ?? '',
      where: request.where ?? '',
      zOrderBy: request.zOrderBy ?? [],
      targetFileSizeBytes: Number(request.targetFileSizeBytes ?? 0),
    });
  }

  @RequiresScope('admin')
  vacuumTable(request: etlV1.VacuumTableRequest): Promise<etlV1.VacuumTableResponse> {
    const retentionMs = request.retention ? request.retention.seconds * 1000 + Math.floor(request.retention.nanos / 1e6) : null;
    return this.operations.vacuum({ table: request.table ?? '', retentionMs, dryRun: request.dryRun ?? false });
  }

  @RequiresScope('admin')
  startBackfill(request: etlV1.StartBackfillRequest): etlV1.StartBackfillResponse {
    const job = this.backfills.start({
      aggregate: request.aggregate ?? '',
      fromMs: request.fromTime ? timestampToMillis(request.fromTime) : undefined,
      toMs: request.toTime ? timestampToMillis(request.toTime) : undefined,
      republish: request.republish ?? false,
    });
    return { job };
  }

  @RequiresScope('ops:read')
  getBackfill(request: etlV1.GetBackfillRequest): etlV1.GetBackfillResponse {
    return { job: this.backfills.get(request.jobId ?? '') };
  }

  @RequiresScope('admin')
  cancelBackfill(request: etlV1.CancelBackfillRequest): etlV1.CancelBackfillResponse {
    return { job: this.backfills.cancel(request.jobId ?? '') };
  }

  @RequiresScope('admin')
  async pauseStream(request: etlV1.PauseStreamRequest): Promise<etlV1.PauseStreamResponse> {
    return { stream: await this.operations.pause(request.stream ?? '') };
  }

  @RequiresScope('admin')
  async resumeStream(request: etlV1.ResumeStreamRequest): Promise<etlV1.ResumeStreamResponse> {
    return { stream: await this.operations.resume(request.stream ?? '') };
  }
}
