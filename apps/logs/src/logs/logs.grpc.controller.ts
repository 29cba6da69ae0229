import { Controller, UseFilters } from '@nestjs/common';
import { logsV1, millisToTimestamp, timestampToMillis } from '@pulse/contracts';
import { GrpcExceptionFilter, RequiresScope } from '@pulse/platform';
import { LogIndexer } from './log-indexer.service';
import { LogSearch } from './log-search.service';
import { LogStore } from './log-store';

/** pulse.logs.v1.LogsService: maps proto ↔ the search and the indexer's status. */
@Controller()
@logsV1.LogsServiceControllerMethods()
@UseFilters(GrpcExceptionFilter)
export class LogsGrpcController implements logsV1.LogsServiceController {
  private readonly startedAtMs = Date.now();

  constructor(
    private readonly logs: LogSearch,
    private readonly indexer: LogIndexer,
    private readonly store: LogStore,
  ) {}

  @RequiresScope('ops:read')
  async searchLogs(request: logsV1.SearchLogsRequest): Promise<logsV1.SearchLogsResponse> {
    const found = await this.logs.search({
      services: request.services,
      minLevel: request.minLevel,
      text: request.text,
      traceId: request.traceId,
      sinceMs: request.since ? timestampToMillis(request.since) : undefined,
      untilMs: request.until ? timestampToMillis(request.until) : undefined,
      limit: request.limit,
    });
    return {
      totalMatches: found.total,
      lines: found.lines.map((l) => ({
        time: millisToTimestamp(l.timeMs),
        service: l.service,
        level: l.level,
        message: l.message,
        traceId: l.traceId,
        spanId: l.spanId,
        requestId: l.requestId,
        instance: l.instance,
        fieldsJson: JSON.stringify(l.fields),
      })),
    };
  }

  @RequiresScope('ops:read')
  async getStatus(_request: logsV1.GetStatusRequest): Promise<logsV1.GetStatusResponse> {
    const stats = this.indexer.stats;
    return {
      linesIndexed: stats.indexed,
      linesRefused: stats.refused,
      startedAt: millisToTimestamp(this.startedAtMs),
      retentionSeconds: Math.round(this.store.retentionSeconds),
      retentionMode: this.store.retentionMode,
    };
  }
}
