import { Controller, Get, Header, Inject, Param } from '@nestjs/common';
import { LOGGER, type Logger } from '@pulse/platform';
import { CONSOLE_CONFIG, type ConsoleConfig } from '../config/console.config';
import { type Html, markup } from '../web/html';
import { page, panel, table } from '../web/layout';
import { queryString } from './log-query';

/** One span as Jaeger's query API answers it (`GET /api/traces/<id>`): times in microseconds. */
interface JaegerSpan {
  spanID: string;
  operationName: string;
  startTime: number;
  duration: number;
  processID: string;
  references?: { refType: string; spanID: string }[];
  tags?: { key: string; value: unknown }[];
}

interface JaegerTrace {
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

/** The spans of a trace in the order a waterfall shows them: each after its parent, siblings by start time. */
export function waterfall(trace: JaegerTrace): { span: JaegerSpan; depth: number }[] {
  const ids = new Set(trace.spans.map((s) => s.spanID));
  const parentOf = (s: JaegerSpan) => s.references?.find((r) => r.refType === 'CHILD_OF' && ids.has(r.spanID))?.spanID;
  const children = new Map<string | undefined, JaegerSpan[]>();
  for (const span of trace.spans) children.set(parentOf(span), [...(children.get(parentOf(span)) ?? []), span]);
  const out: { span: JaegerSpan; depth: number }[] = [];
  const visit = (parent: string | undefined, depth: number) => {
    for (const span of (children.get(parent) ?? []).sort((a, b) => a.startTime - b.startTime)) {
      out.push({ span, depth });
      visit(span.spanID, depth + 1);
    }
  };
  visit(undefined, 0);
  return out;
}

/** Whether a span ended in error (OpenTelemetry's status, or Jaeger's `error` tag). */
function failed(span: JaegerSpan): boolean {
  return (span.tags ?? []).some((t) => (t.key === 'otel.status_code' && t.value === 'ERROR') || (t.key === 'error' && t.value === true));
}

/**
 * A trace from the stack's trace store (Jaeger's query API), drawn as a waterfall: every span with its service,
 * operation, start within the trace and duration, indented under its parent, failed spans marked; with links to the
 * trace's log lines and to Jaeger's own view. Reached from a log line's trace.
 */
@Controller()
export class TracesController {
  constructor(
    @Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get('traces/:id')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async trace(@Param('id') id: string): Promise<string> {
    const body = /^[0-9a-f]{32}$/.test(id) ? await this.spans(id) : markup`<p class="muted">not a trace id: 32 hex digits</p>`;
    return page(
      'Trace',
      'logs',
      markup`<div class="grid">${panel({ id: 'trace', title: `Trace ${id.slice(0, 32)}`, wide: true }, body)}</div>`,
    );
  }

  private async spans(id: string): Promise<Html> {
    const jaeger = this.config.JAEGER_URL.replace(/\/$/, '');
    let response: Response;
    try {
      response = await fetch(`${jaeger}/api/traces/${id}`, { signal: AbortSignal.timeout(this.config.CONSOLE_CALL_DEADLINE) });
    } catch (error) {
      this.logger.warn({ err: error }, 'trace store did not answer');
      return markup`<p class="error">the trace store (${jaeger}) did not answer: ${(error as Error).message}</p>`;
    }
    if (response.status === 404)
      return markup`<p class="muted">no trace ${id} in the trace store: not sampled, or older than the traces it keeps</p>`;
    if (!response.ok) return markup`<p class="error">the trace store (${jaeger}) answered ${response.status}</p>`;
    const trace = ((await response.json()) as { data?: JaegerTrace[] }).data?.[0];
    if (!trace || trace.spans.length === 0) return markup`<p class="muted">no trace ${id} in the trace store</p>`;
    const start = Math.min(...trace.spans.map((s) => s.startTime));
    const end = Math.max(...trace.spans.map((s) => s.startTime + s.duration));
    const total = Math.max(1, end - start);
    const spans = waterfall(trace);
    // The services in the order the waterfall meets them (the trace store lists spans in no particular order).
    const services = [...new Set(spans.map(({ span }) => trace.processes[span.processID]?.serviceName ?? '?'))];
    const ms = (us: number) => (us / 1000).toFixed(us < 10_000 ? 2 : 1);
    const rows = spans.map(({ span, depth }) => {
      const left = ((span.startTime - start) / total) * 100;
      const width = Math.max(0.5, (span.duration / total) * 100);
      return markup`<tr class="span${failed(span) ? ' failed' : ''}" data-depth="${depth}">
        <td>${trace.processes[span.processID]?.serviceName ?? '?'}</td>
        <td class="operation" style="padding-left: ${0.4 + depth * 1.2}em">${span.operationName}</td>
        <td class="nowrap num">+${ms(span.startTime - start)} ms</td>
        <td class="nowrap num">${ms(span.duration)} ms</td>
        <td class="timeline"><div class="bar" style="margin-left: ${left.toFixed(2)}%; width: ${width.toFixed(2)}%"></div></td>
      </tr>`;
    });
    return markup`<p>${trace.spans.length} spans in ${services.length} services (${services.join(', ')}), ${ms(total)} ms ·
        <a href="/logs?${queryString({ trace: id, window: '24h' })}">its log lines</a> ·
        <a href="${jaeger}/trace/${id}" target="_blank" rel="noopener">in Jaeger</a></p>
      ${table(['service', 'operation', 'start', 'duration', ''], rows)}`;
  }
}
