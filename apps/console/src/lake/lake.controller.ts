import { Controller, Get, Header, Inject, Param, Query } from '@nestjs/common';
import { etlV1, timestampToMillis } from '@pulse/contracts';
import { LOGGER, type Logger } from '@pulse/platform';
import type { ChartData } from '../metrics/metrics-sampler';
import { Peers } from '../peers/peers';
import { peerFailure } from '../web/api-error';
import { bytes, num, when } from '../web/format';
import { type Html, markup } from '../web/html';
import { chart, page, panel, settle } from '../web/layout';

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
      if (tables.length === 0) return markup`<p class="muted">etl manages no table yet</p>`;
      return markup`<table>
        <thead>
          <tr>
            <th>table</th>
            <th>version</th>
            <th>files</th>
            <th>size</th>
            <th>partitioned by</th>
            <th>last commit</th>
            <th>location</th>
          </tr>
        </thead>
        <tbody>
          ${tables.map(
            (t) =>
              markup`<tr data-table="${t.name}">
                <td><a href="/lake/${encodeURIComponent(t.name)}">${t.name}</a></td>
                <td class="num">${t.version}</td>
                <td class="num">${num(Number(t.fileCount))}</td>
                <td class="num">${bytes(Number(t.sizeBytes))}</td>
                <td>${t.partitionColumns.join(', ') || '—'}</td>
                <td>${when(t.lastCommitAt)} <span class="muted">${t.lastOperation}</span></td>
                <td><code>${t.location}</code></td>
              </tr>`,
          )}
        </tbody>
      </table>`;
    }, this.logger);
  }

  private history(table: string, pageToken = ''): Promise<Html> {
    return settle(async () => {
      const page = await this.peers.call<etlV1.GetTableHistoryResponse>('etl', 'GetTableHistory', { table, pageSize: 20, pageToken });
      const link = `/lake/${encodeURIComponent(table)}`;
      return markup`<table>
          <thead>
            <tr>
              <th>version</th>
              <th>operation</th>
              <th>committed</th>
              <th>rows added</th>
              <th>metrics</th>
            </tr>
          </thead>
          <tbody>
            ${page.commits.map(
              (c) =>
                markup`<tr data-version="${c.version}">
                  <td class="num">${c.version}</td>
                  <td>${c.operation}</td>
                  <td>${when(c.committedAt)}</td>
                  <td class="num">${num(Number(c.rowsAdded))}</td>
                  <td class="muted">
                    ${Object.entries(c.operationMetrics)
                      .filter(([k]) => k !== 'numOutputRows')
                      .map(([k, v]) => `${k}=${v}`)
                      .join(' ')}
                  </td>
                </tr>`,
            )}
          </tbody>
        </table>
        <p>
          ${pageToken ? markup`<a href="${link}">newest</a> · ` : ''}${
            page.nextPageToken
              ? markup`<a href="${link}?page=${encodeURIComponent(page.nextPageToken)}" data-next-page>older commits</a>`
              : 'first commit reached'
          }
        </p>`;
    }, this.logger);
  }

  private preview(table: string, params: { version?: number; limit?: number }): Promise<Html> {
    return settle(async () => {
      const response = await this.peers.call<etlV1.PreviewTableResponse>('etl', 'PreviewTable', {
        table,
        limit: params.limit ?? 20,
        ...(params.version === undefined ? {} : { version: params.version }),
      });
      const rows = response.rows.map((r) => JSON.parse(r) as Record<string, unknown>);
      return markup`<p data-preview-version="${response.version}">
          version <strong>${response.version}</strong>: ${num(Number(response.totalRows))} rows, showing ${rows.length}
        </p>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                ${response.columns.map((c) => markup`<th title="${c.type}${c.partition ? ' (partition)' : ''}">${c.name}</th>`)}
              </tr>
            </thead>
            <tbody>
              ${rows.map(
                (row) =>
                  markup`<tr>
                    ${response.columns.map((c) => markup`<td>${cell(row[c.name])}</td>`)}
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>`;
    }, this.logger);
  }
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '∅';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
