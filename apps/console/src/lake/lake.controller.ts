import { Controller, Get, Header, Inject, Param, Query } from '@nestjs/common';
import { etlV1, timestampToMillis } from '@pulse/contracts';
import { LOGGER, type Logger } from '@pulse/platform';
import type { ChartData } from '../metrics/metrics-sampler';
import { Peers } from '../peers/peers';
import { peerFailure } from '../web/api-error';
import { num, when } from '../web/format';
import { type Html, markup } from '../web/html';
import { chart, page, panel, settle, table } from '../web/layout';
import { deltaTables } from './delta-tables';

const TABLE = /^[A-Za-z0-9_.-]{1,128}$/;

/** Reads `version` and `limit` of the preview form: a version (or none for the latest) and 1..100 rows. */
export function previewParams(version?: string, limit?: string): { version?: number; limit: number } | { problem: string } {
  const v = (version ?? '').trim();
  const l = (limit ?? '').trim();
  if (v !== '' && !/^\d{1,15}$/.test(v)) return { problem: 'version: a table version is a whole number, 0 or more' };
  if (l !== '' && (!/^\d{1,3}$/.test(l) || Number(l) < 1 || Number(l) > 100)) return { problem: 'limit: between 1 and 100 rows' };
  return { version: v === '' ? undefined : Number(v), limit: l === '' ? 20 : Number(l) };
}

/** The lake: etl's tables, each table's commits, and its rows at any version. */
@Controller()
export class LakeController {
  constructor(
    private readonly peers: Peers,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get('lake')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async lake(): Promise<string> {
    return page(
      'Lake',
      'lake',
      panel({ id: 'tables', title: 'Tables', src: '/panels/lake/tables', refreshMs: 5000, wide: true }, await this.tables()),
    );
  }

  @Get('panels/lake/tables')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async tablesFragment(): Promise<string> {
    return (await this.tables()).value;
  }

  @Get('lake/:table')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async table(@Param('table') table: string, @Query('page') pageToken?: string): Promise<string> {
    if (!TABLE.test(table)) return page('Lake', 'lake', markup`<p class="error">not a table name: ${table}</p>`);
    const base = `/panels/lake/${encodeURIComponent(table)}`;
    const historySrc = `${base}/history${pageToken ? `?page=${encodeURIComponent(pageToken)}` : ''}`;
    const [history, preview] = await Promise.all([this.history(table, pageToken), this.preview(table, {})]);
    return page(
      `Table ${table}`,
      'lake',
      markup`<p><a href="/lake">← all tables</a></p>
        <div class="grid">
          ${panel({ id: 'rows-added', title: 'Rows added per commit', wide: true }, chart('rows-chart', `/api/charts/lake/${encodeURIComponent(table)}`, 5000))}
          ${panel({ id: 'history', title: 'History', src: historySrc, refreshMs: 5000, wide: true }, history)}
          ${panel(
            { id: 'preview', title: 'Preview (time travel)', wide: true },
            markup`<form data-fragment="${base}/preview" data-target="preview-rows" class="inline">
                <label>version <input name="version" inputmode="numeric" placeholder="latest" size="8" /></label>
                <label>rows <input name="limit" inputmode="numeric" value="20" size="4" /></label>
                <button type="submit" data-act="preview">show</button>
              </form>
              <div id="preview-rows">${preview}</div>`,
          )}
        </div>`,
    );
  }

  @Get('panels/lake/:table/history')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async historyFragment(@Param('table') table: string, @Query('page') pageToken?: string): Promise<string> {
    return (await this.history(table, pageToken)).value;
  }

  @Get('panels/lake/:table/preview')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async previewFragment(
    @Param('table') table: string,
    @Query('version') version?: string,
    @Query('limit') limit?: string,
  ): Promise<string> {
    const params = previewParams(version, limit);
    if ('problem' in params) return markup`<p class="error" data-status="INVALID_ARGUMENT">${params.problem}</p>`.value;
    return (await this.preview(table, params)).value;
  }

  /** Rows added by each of the table's latest 100 commits, by commit time. */
  @Get('api/charts/lake/:table')
  async rowsChart(@Param('table') table: string): Promise<ChartData> {
    let commits: etlV1.TableCommit[];
    try {
      commits = (await this.peers.call<etlV1.GetTableHistoryResponse>('etl', 'GetTableHistory', { table, pageSize: 100 })).commits;
    } catch (error) {
      throw peerFailure(error);
    }
    const ordered = [...commits].reverse();
    return {
      unit: 'rows',
      x: ordered.map((c) => (c.committedAt ? timestampToMillis(c.committedAt) / 1000 : 0)),
      series: [{ label: 'rows added', values: ordered.map((c) => Number(c.rowsAdded)) }],
    };
  }

  private tables(): Promise<Html> {
    return settle(async () => {
      const { tables } = await this.peers.call<etlV1.GetStatusResponse>('etl', 'GetStatus', {});
      return deltaTables(tables, true);
    }, this.logger);
  }

  private history(name: string, pageToken = ''): Promise<Html> {
    return settle(async () => {
      const page = await this.peers.call<etlV1.GetTableHistoryResponse>('etl', 'GetTableHistory', { table: name, pageSize: 20, pageToken });
      const link = `/lake/${encodeURIComponent(name)}`;
      const rows = page.commits.map(
        (c) => markup`<tr data-version="${c.version}">
          <td class="num">${c.version}</td>
          <td>${c.operation}</td>
          <td>${when(c.committedAt)}</td>
          <td class="num">${num(Number(c.rowsAdded))}</td>
          <td class="muted">${Object.entries(c.operationMetrics)
            .filter(([k]) => k !== 'numOutputRows')
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}</td>
        </tr>`,
      );
      const older = page.nextPageToken
        ? markup`<a href="${link}?page=${encodeURIComponent(page.nextPageToken)}" data-next-page>older commits</a>`
        : 'first commit reached';
      return markup`${table(['version', 'operation', 'committed', 'rows added', 'metrics'], rows, 'no commits')}
        <p>${pageToken ? markup`<a href="${link}">newest</a> · ` : ''}${older}</p>`;
    }, this.logger);
  }

  private preview(name: string, params: { version?: number; limit?: number }): Promise<Html> {
    return settle(async () => {
      const response = await this.peers.call<etlV1.PreviewTableResponse>('etl', 'PreviewTable', {
        table: name,
        limit: params.limit ?? 20,
        ...(params.version === undefined ? {} : { version: params.version }),
      });
      const rows = response.rows.map((r) => JSON.parse(r) as Record<string, unknown>);
      const body = rows.map((row) => markup`<tr>${response.columns.map((c) => markup`<td>${cell(row[c.name])}</td>`)}</tr>`);
      return markup`<p data-preview-version="${response.version}">version <strong>${response.version}</strong>:
          ${num(Number(response.totalRows))} rows, showing ${rows.length}</p>
        <div class="scroll">${table(
          response.columns.map((c) => c.name),
          body,
          'no rows in this version',
        )}</div>`;
    }, this.logger);
  }
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '∅';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
