import { Controller, UseFilters } from '@nestjs/common';
import { etlV1, timestampToMillis } from '@pulse/contracts';
import { GrpcExceptionFilter, grpcErrors } from '@pulse/platform';
import { BackfillService } from '../backfill/backfill.service';
import { EtlOperationsService } from './etl-operations.service';
import { TableReaderService } from './table-reader.service';

const MAX_WHERE_LENGTH = 1024;
const MIB = 1024 * 1024;
const MAX_PAGE = 100;
const DEFAULT_PAGE = 20;

function required(value: string | undefined, field: string): string {
  if (!value) throw grpcErrors.invalidArgument(field, 'required');
  return value;
}

/** A page size or row limit: 0 means the default, above the maximum is the caller's mistake. */
function pageSize(value: number | undefined, field: string): number {
  const n = value ?? 0;
  if (!Number.isInteger(n) || n < 0 || n > MAX_PAGE)
    throw grpcErrors.invalidArgument(field, `between 0 and ${MAX_PAGE} (0 means ${DEFAULT_PAGE})`);
  return n === 0 ? DEFAULT_PAGE : n;
}

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

  getStatus(): Promise<etlV1.GetStatusResponse> {
    return this.operations.status();
  }

  getTableHistory(request: etlV1.GetTableHistoryRequest): Promise<etlV1.GetTableHistoryResponse> {
    const table = required(request.table, 'table');
    const size = pageSize(request.pageSize, 'page_size');
    const token = request.pageToken ?? '';
    if (token !== '' && !/^\d{1,15}$/.test(token)) throw grpcErrors.invalidArgument('page_token', 'not a token of a previous page');
    return this.tables.history(table, size, token === '' ? undefined : Number(token));
  }

  previewTable(request: etlV1.PreviewTableRequest): Promise<etlV1.PreviewTableResponse> {
    const table = required(request.table, 'table');
    const version = request.version ?? undefined;
    if (version !== undefined && (!Number.isInteger(version) || version < 0)) throw grpcErrors.invalidArgument('version', '0 or more');
    return this.tables.preview(table, version, pageSize(request.limit, 'limit'));
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
