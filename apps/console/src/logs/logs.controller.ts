import { Controller, Get, Header, Inject, Query } from '@nestjs/common';
import { logsV1, timestampToMillis } from '@pulse/contracts';
import { LOGGER, type Logger, SERVICE_LIST } from '@pulse/platform';
import { Peers } from '../peers/peers';
import { type Html, markup } from '../web/html';
import { page, panel, settle, table } from '../web/layout';
import { LEVELS, type LogFilters, logFilters, queryString, searchRequest, WINDOWS } from './log-query';

/**
 * The log search: every service's log lines from the logs service (SearchLogs over the log store), by service, lowest
 * level, time window, words and trace; each line's trace links to the trace (TracesController), and to the lines of
 * that trace.
 * The results refresh every 5 s (a live tail of the window).
 */
@Controller()
export class LogsController {
  constructor(
    private readonly peers: Peers,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get('logs')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async logs(@Query() query: Record<string, unknown>): Promise<string> {
    const filters = logFilters(query);
    return page(
      'Logs',
      'logs',
      markup`<div class="grid">
        ${panel({ id: 'log-search', title: 'Search', wide: true }, this.form(filters))}
        ${panel(
          { id: 'log-lines', title: 'Lines, newest first', src: `/panels/logs?${queryString(filters)}`, refreshMs: 5000, wide: true },
          await this.lines(filters),
        )}
      </div>`,
    );
  }

  @Get('panels/logs')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async fragment(@Query() query: Record<string, unknown>): Promise<string> {
    return (await this.lines(logFilters(query))).value;
  }

  private form(filters: LogFilters): Html {
    const services = SERVICE_LIST.map((s) => s.name);
    const option = (value: string, label: string, selected: boolean) =>
      markup`<option value="${value}" ${selected ? markup`selected` : ''}>${label}</option>`;
    return markup`<form class="log-search" method="get" action="/logs">
      <label>service <select name="service">${option('', 'every service', !filters.service)}${services.map((s) => option(s, s, s === filters.service))}</select></label>
      <label>level <select name="level">${option('', 'every level', !filters.level)}${LEVELS.map((l) => option(l, `${l} and above`, l === filters.level))}</select></label>
      <label>last <select name="window">${Object.keys(WINDOWS).map((w) => option(w, w, w === filters.window))}</select></label>
      <label>text <input name="text" type="search" value="${filters.text}" maxlength="500" placeholder="words in the message or error" /></label>
      <label>trace <input name="trace" value="${filters.trace}" maxlength="32" pattern="[0-9a-f]{32}" placeholder="32 hex digits" /></label>
      <button type="submit">Search</button>
    </form>`;
  }

  private lines(filters: LogFilters): Promise<Html> {
    return settle(async () => {
      const found = await this.peers.call<logsV1.SearchLogsResponse>('logs', 'SearchLogs', searchRequest(filters));
      const rows = found.lines.map((line) => this.row(line));
      const total = Number(found.totalMatches);
      return markup`<p class="muted">${total >= 10_000 ? 'over 10,000' : total.toLocaleString('en-US')} matching lines${
        total > found.lines.length ? markup`, the newest ${found.lines.length} shown` : ''
      }</p>
        ${table(['time (UTC)', 'service', 'level', 'message', 'trace', 'request'], rows, 'no line matches')}`;
    }, this.logger);
  }

  private row(line: logsV1.LogLine): Html {
    const time = line.time ? new Date(timestampToMillis(line.time)).toISOString().replace('T', ' ').replace('Z', '') : '—';
    const trace = line.traceId
      ? markup`<a class="trace" href="/traces/${line.traceId}" title="the trace: every span of it across services">${line.traceId.slice(0, 12)}…</a>
          <a class="trace-lines" href="/logs?${queryString({ trace: line.traceId, window: '24h' })}" title="every line of this trace">lines</a>`
      : markup`<span class="muted">—</span>`;
    return markup`<tr class="log-line level-${line.level}" data-service="${line.service}">
      <td class="nowrap">${time}</td>
      <td>${line.service}</td>
      <td class="level">${line.level}</td>
      <td class="message"><span>${line.message}</span>${this.details(line.fieldsJson)}</td>
      <td class="nowrap">${trace}</td>
      <td>${line.requestId || markup`<span class="muted">—</span>`}</td>
    </tr>`;
  }

  /** The line's other fields, folded. */
  private details(fieldsJson: string): Html | string {
    if (!fieldsJson || fieldsJson === '{}') return '';
    return markup`<details><summary>fields</summary><pre>${JSON.stringify(JSON.parse(fieldsJson), null, 2)}</pre></details>`;
  }
}
