import { Inject, Injectable } from '@nestjs/common';
import { grpcErrors } from '@pulse/platform';
import { OpenSearchClient } from '../opensearch/opensearch.client';
import { LEVELS, type LogDocument } from './log-document';
import { LogStore, OPENSEARCH } from './log-store';

export interface LogQuery {
  services: string[];
  minLevel: string;
  text: string;
  traceId: string;
  sinceMs?: number;
  untilMs?: number;
  limit: number;
}

export interface FoundLine {
  timeMs: number;
  service: string;
  level: string;
  message: string;
  traceId: string;
  spanId: string;
  requestId: string;
  instance: string;
  fields: Record<string, unknown>;
}

const HOUR_MS = 3_600_000;

/** Checks a query (INVALID_ARGUMENT naming the field) and builds the OpenSearch request of it. */
export function searchRequest(query: LogQuery, now = Date.now()) {
  if (query.minLevel && !(query.minLevel in LEVELS))
    throw grpcErrors.invalidArgument('min_level', `one of ${Object.keys(LEVELS).join(', ')}, got "${query.minLevel}"`);
  if (query.traceId && !/^[0-9a-f]{32}$/.test(query.traceId))
    throw grpcErrors.invalidArgument('trace_id', 'expected 32 lowercase hex digits');
  if (query.text.length > 500) throw grpcErrors.invalidArgument('text', 'at most 500 characters');
  if (query.limit < 0 || query.limit > 500) throw grpcErrors.invalidArgument('limit', 'between 1 and 500 (0: 100)');
  const until = query.untilMs ?? now;
  const since = query.sinceMs ?? until - HOUR_MS;
  if (since >= until) throw grpcErrors.invalidArgument('since', 'must be before until');
  const filter: unknown[] = [{ range: { '@timestamp': { gte: since, lt: until, format: 'epoch_millis' } } }];
  if (query.services.length > 0) filter.push({ terms: { service: query.services } });
  if (query.minLevel) filter.push({ range: { level_value: { gte: LEVELS[query.minLevel] } } });
  if (query.traceId) filter.push({ term: { trace_id: query.traceId } });
  const must = query.text.trim()
    ? [{ simple_query_string: { query: query.text, fields: ['message', 'error.message'], default_operator: 'and' } }]
    : [];
  return {
    size: query.limit || 100,
    track_total_hits: 10_000,
    sort: [{ '@timestamp': 'desc' }, { _doc: 'desc' }],
    query: { bool: { filter, must } },
  };
}

/** Searches the log store: the newest lines matching every filter. */
@Injectable()
export class LogSearch {
  constructor(
    @Inject(OPENSEARCH) private readonly store: OpenSearchClient,
    private readonly logStore: LogStore,
  ) {}

  async search(query: LogQuery): Promise<{ lines: FoundLine[]; total: number }> {
    const request = searchRequest(query);
    let reply: { hits: { total: { value: number }; hits: { _source: LogDocument }[] } };
    try {
      reply = await this.store.search(this.logStore.indexPattern, request);
    } catch (error) {
      throw grpcErrors.unavailable(`the log store did not answer: ${error instanceof Error ? error.message : String(error)}`);
    }
    return {
      total: reply.hits.total.value,
      lines: reply.hits.hits.map(({ _source: d }) => ({
        timeMs: Date.parse(d['@timestamp']),
        service: d.service,
        level: d.level,
        message: d.message,
        traceId: d.trace_id ?? '',
        spanId: d.span_id ?? '',
        requestId: d.request_id ?? '',
        instance: d.instance,
        fields: { ...d.fields, ...(d.error && { err: d.error }), ...(d.context && { context: d.context }) },
      })),
    };
  }
}
