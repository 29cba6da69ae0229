import { Controller, UseFilters } from '@nestjs/common';
import { cdcV1 } from '@pulse/contracts';
import { GrpcExceptionFilter, grpcErrors } from '@pulse/platform';
import { CaptureStatusService } from '../capture/capture-status.service';
import { StreamingSourceService } from '../capture/streaming-source.service';
import { IncrementalSnapshotService } from '../snapshot/incremental-snapshot.service';

const MAX_REASON_LENGTH = 512;

function checkReason(reason: string | undefined): string {
  const text = reason ?? '';
  if (text.length > MAX_REASON_LENGTH) throw grpcErrors.invalidArgument('reason', `at most ${MAX_REASON_LENGTH} characters`);
  return text;
}

const MAX_TABLES = 100;
const MAX_CHUNK_SIZE = 100_000;
const MAX_CONDITION_LENGTH = 4096;
/** `schema.table`, both lower-case PostgreSQL identifiers as written unquoted. */
const QUALIFIED_TABLE = /^[a-z_][a-z0-9_$]{0,62}\.[a-z_][a-z0-9_$]{0,62}$/;

function checkTables(tables: readonly string[] | undefined, required: boolean): string[] {
  const list = tables ?? [];
  if (required && list.length === 0) throw grpcErrors.invalidArgument('tables', 'at least one table is required');
  if (list.length > MAX_TABLES) throw grpcErrors.invalidArgument('tables', `at most ${MAX_TABLES} tables`);
  list.forEach((table, i) => {
    if (!QUALIFIED_TABLE.test(table))
      throw grpcErrors.invalidArgument(`tables[${i}]`, `"${table}" is not a schema.table name (lower-case identifiers)`);
    if (list.indexOf(table) !== i) throw grpcErrors.invalidArgument(`tables[${i}]`, `${table} is listed twice`);
  });
  return [...list];
}

function checkSnapshotId(id: string | undefined): string {
  if (!id) throw grpcErrors.invalidArgument('snapshot_id', 'required');
  return id;
}

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

  async getStatus(): Promise<cdcV1.GetStatusResponse> {
    return { connector: await this.connector() };
  }

  async pauseCapture(request: cdcV1.PauseCaptureRequest): Promise<cdcV1.PauseCaptureResponse> {
    await this.streaming.pause(checkReason(request.reason));
    return { connector: await this.connector() };
  }

  async resumeCapture(request: cdcV1.ResumeCaptureRequest): Promise<cdcV1.ResumeCaptureResponse> {
    await this.streaming.resume(checkReason(request.reason));
    return { connector: await this.connector() };
  }

  async triggerIncrementalSnapshot(request: cdcV1.TriggerIncrementalSnapshotRequest): Promise<cdcV1.TriggerIncrementalSnapshotResponse> {
    const tables = checkTables(request.tables, true);
    const chunkSize = request.chunkSize ?? 0;
    if (chunkSize > MAX_CHUNK_SIZE) throw grpcErrors.invalidArgument('chunk_size', `at most ${MAX_CHUNK_SIZE}`);
    const conditions = request.additionalConditions ?? {};
    for (const [table, condition] of Object.entries(conditions)) {
      if (!tables.includes(table)) throw grpcErrors.invalidArgument(`additional_conditions[${table}]`, 'the table is not in tables');
      if (condition.length > MAX_CONDITION_LENGTH) {
        throw grpcErrors.invalidArgument(`additional_conditions[${table}]`, `at most ${MAX_CONDITION_LENGTH} characters`);
      }
    }
    return { snapshot: await this.snapshots.trigger(tables, chunkSize, conditions) };
  }

  getSnapshotStatus(request: cdcV1.GetSnapshotStatusRequest): cdcV1.GetSnapshotStatusResponse {
    return { snapshot: this.snapshots.get(checkSnapshotId(request.snapshotId)) };
  }

  async stopIncrementalSnapshot(request: cdcV1.StopIncrementalSnapshotRequest): Promise<cdcV1.StopIncrementalSnapshotResponse> {
    const id = checkSnapshotId(request.snapshotId);
    return { snapshot: await this.snapshots.stop(id, checkTables(request.tables, false)) };
  }

  private connector(): Promise<cdcV1.ConnectorStatus> {
    return this.status.report(this.snapshots.activeId);
  }
}
