import { Body, Controller, Get, Header, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { recsV1, timestampToMillis } from '@pulse/contracts';
import { LOGGER, type Logger } from '@pulse/platform';
import type { ChartData } from '../metrics/metrics-sampler';
import { Peers } from '../peers/peers';
import { invalidInput, peerFailure } from '../web/api-error';
import { num, when } from '../web/format';
import { type Html, markup } from '../web/html';
import { chart, page, panel, settle, table } from '../web/layout';

const REASON_MAX = 512;

/** The recommender's model registry: every version with its offline metrics, and promotion and rollback. */
@Controller()
export class ModelsController {
  constructor(
    private readonly peers: Peers,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get('models')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async models(): Promise<string> {
    return page(
      'Models',
      'models',
      markup`<div class="grid">
        ${panel({ id: 'metrics', title: 'Offline metrics per version', wide: true }, chart('models-chart', '/api/charts/models', 5000))}
        ${panel({ id: 'registry', title: 'Registry', src: '/panels/models/registry', refreshMs: 5000, wide: true }, await this.registry())}
      </div>`,
    );
  }

  @Get('panels/models/registry')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async fragment(): Promise<string> {
    return (await this.registry()).value;
  }

  /** Metric values (the scores between 0 and 1, such as HR@10 and NDCG@10; not rates) of each version, by its creation time. */
  @Get('api/charts/models')
  async chartData(): Promise<ChartData> {
    let models: recsV1.ModelVersion[];
    try {
      models = (await this.list()).reverse();
    } catch (error) {
      throw peerFailure(error);
    }
    const keys = [...new Set(models.flatMap((m) => Object.keys(m.metrics)))]
      .filter(
        (k) => !k.endsWith('_per_second') && models.every((m) => m.metrics[k] === undefined || (m.metrics[k] >= 0 && m.metrics[k] <= 1)),
      )
      .sort();
    return {
      unit: 'score',
      x: models.map((m) => (m.createdAt ? timestampToMillis(m.createdAt) / 1000 : 0)),
      series: keys.map((label) => ({ label, values: models.map((m) => m.metrics[label] ?? null) })),
    };
  }

  @Post('api/models/:version/promote')
  @HttpCode(200)
  async promote(@Param('version') version: string, @Body() body: { reason?: string }) {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(version)) throw invalidInput('version', 'letters, digits, . _ - (1 to 128)');
    const reason = String(body?.reason ?? 'promoted from the console');
    if (reason.length > REASON_MAX) throw invalidInput('reason', `at most ${REASON_MAX} characters`);
    try {
      const response = await this.peers.call<recsV1.PromoteModelResponse>('recommender', 'PromoteModel', { version, reason });
      return { message: `promoted ${response.model?.version} (before: ${response.previousVersion || 'none'})` };
    } catch (error) {
      throw peerFailure(error);
    }
  }

  @Post('api/models/rollback')
  @HttpCode(200)
  async rollback(@Body() body: { reason?: string }) {
    const reason = String(body?.reason ?? 'rolled back from the console');
    if (reason.length > REASON_MAX) throw invalidInput('reason', `at most ${REASON_MAX} characters`);
    try {
      const response = await this.peers.call<recsV1.RollbackModelResponse>('recommender', 'RollbackModel', { reason });
      return { message: `rolled back ${response.rolledBackVersion}; ${response.model?.version} serves again` };
    } catch (error) {
      throw peerFailure(error);
    }
  }

  private async list(): Promise<recsV1.ModelVersion[]> {
    return (await this.peers.call<recsV1.ListModelsResponse>('recommender', 'ListModels', { pageSize: 100 })).models;
  }

  private registry(): Promise<Html> {
    return settle(async () => {
      const models = await this.list();
      if (models.length === 0) return markup`<p class="muted">the registry has no model yet (train one: <code>recs train</code>)</p>`;
      const keys = [...new Set(models.flatMap((m) => Object.keys(m.metrics)))].sort();
      const serving = (m: recsV1.ModelVersion) =>
        m.promoted
          ? markup`<strong class="ok">in service</strong> <span class="muted">since ${when(m.promotedAt)}</span>`
          : markup`<form data-action="/api/models/${encodeURIComponent(m.version)}/promote" data-refreshes="registry" class="inline">
              <button type="submit" data-act="promote">promote</button>
            </form>`;
      const rows = models.map(
        (m) => markup`<tr data-version="${m.version}" data-promoted="${m.promoted}">
          <td><code>${m.version}</code></td>
          <td>${m.algorithm}</td>
          <td>${when(m.createdAt)}</td>
          ${keys.map((k) => markup`<td class="num">${m.metrics[k] === undefined ? '—' : num(m.metrics[k])}</td>`)}
          <td>${serving(m)}</td>
        </tr>`,
      );
      return markup`<form data-action="/api/models/rollback" data-refreshes="registry" class="inline">
          <button type="submit" data-act="rollback">roll back to the previous version</button>
        </form>
        ${table(['version', 'algorithm', 'created', ...keys, 'serving'], rows)}`;
    }, this.logger);
  }
}
