import { Controller, UseFilters } from '@nestjs/common';
import { etlV1, timestampToMillis } from '@pulse/contracts';
import { GrpcExceptionFilter, grpcErrors } from '@pulse/platform';
import { BackfillService } from '../backfill/backfill.service';
import { EtlOperationsService } from './etl-operations.service';

const MAX_WHERE_LENGTH = 1024;
const MIB = 1024 * 1024;

function required(value: string | undefined, field: string): string {
  if (!value) throw grpcErrors.invalidArgument(field, 'required');
  return value;
}

/** pulse.etl.v1.EtlService over gRPC: status, table maintenance, backfills, stream control. */
@Controller()
@UseFilters(GrpcExceptionFilter)
@etlV1.EtlServiceControllerMethods()
export class EtlGrpcController implements etlV1.EtlServiceController {
  constructor(
    private readonly operations: EtlOperationsService,
    private readonly backfills: BackfillService,
  ) {}

  getStatus(): Promise<etlV1.GetStatusResponse> {
    return this.operations.status();
  }

  compactTable(request: etlV1.CompactTableRequest): Promise<etlV1.CompactTableResponse> {
    const table = required(request.table, 'table');
    if ((request.where ?? '').length > MAX_WHERE_LENGTH)
      throw grpcErrors.invalidArgument('where', `at most ${MAX_WHERE_LENGTH} characters`);
    if ((request.zOrderBy ?? []).length > 0) {
      throw grpcErrors.unimplemented('z_order_by: Z-ordering is not supported; compaction bin-packs files per partition');
    }
    const target = Number(request.targetFileSizeBytes ?? 0);
    if (target !== 0 && (target < MIB || target > 2048 * MIB)) {
      throw grpcErrors.invalidArgument('target_file_size_bytes', 'between 1 MiB and 2 GiB, or 0 for the table default');
    }
    return this.operations.compact({ table, where: request.where ?? '', targetFileSizeBytes: target });
  }

  vacuumTable(request: etlV1.VacuumTableRequest): Promise<etlV1.VacuumTableResponse> {
    const table = required(request.table, 'table');
    const retentionMs = request.retention ? request.retention.seconds * 1000 + Math.floor(request.retention.nanos / 1e6) : null;
    return this.operations.vacuum({ table, retentionMs, dryRun: request.dryRun ?? false });
  }

  startBackfill(request: etlV1.StartBackfillRequest): etlV1.StartBackfillResponse {
    const aggregate = required(request.aggregate, 'aggregate');
    if (!request.fromTime) throw grpcErrors.invalidArgument('from_time', 'required');
    if (!request.toTime) throw grpcErrors.invalidArgument('to_time', 'required');
    const job = this.backfills.start({
      aggregate,
      fromMs: timestampToMillis(request.fromTime),
      toMs: timestampToMillis(request.toTime),
      republish: request.republish ?? false,
    });
    return { job };
  }

  getBackfill(request: etlV1.GetBackfillRequest): etlV1.GetBackfillResponse {
    return { job: this.backfills.get(required(request.jobId, 'job_id')) };
  }

  cancelBackfill(request: etlV1.CancelBackfillRequest): etlV1.CancelBackfillResponse {
    return { job: this.backfills.cancel(required(request.jobId, 'job_id')) };
  }

  async pauseStream(request: etlV1.PauseStreamRequest): Promise<etlV1.PauseStreamResponse> {
    return { stream: await this.operations.pause(required(request.stream, 'stream')) };
  }

  async resumeStream(request: etlV1.ResumeStreamRequest): Promise<etlV1.ResumeStreamResponse> {
    return { stream: await this.operations.resume(required(request.stream, 'stream')) };
  }
}
