import { Controller, Get, Header, Inject, Param } from '@nestjs/common';
import { experimentsV1 } from '@pulse/contracts';
import { LOGGER, type Logger } from '@pulse/platform';
import { Peers } from '../peers/peers';
import { enumName, num, when } from './format';
import { escapeHtml, type Html, markup, raw } from './html';
import { page, panel, settle, table } from './layout';

const { ExperimentStatus, Metric, ServingStrategy, Verdict } = experimentsV1;
const ID = /^[A-Za-z0-9._-]{1,64}$/;

const status = (s: experimentsV1.ExperimentStatus) => enumName(ExperimentStatus, s, 'EXPERIMENT_STATUS_');
const metricName = (m: experimentsV1.Metric) => enumName(Metric, m, 'METRIC_');
const verdictName = (v: experimentsV1.Verdict) => enumName(Verdict, v, 'VERDICT_');
const percent = (x: number) => `${num(x * 100)} %`;

/** What a variant serves: a model version or a strategy. */
function treatment(v: experimentsV1.Variant): string {
  return v.modelVersion ? `model ${v.modelVersion}` : `strategy ${enumName(ServingStrategy, v.strategy ?? 0, 'SERVING_STRATEGY_')}`;
}

/** Whether a verdict is good news for the treatment, given the metric's direction (BETTER/WORSE already account for it). */
function tone(v: experimentsV1.Verdict): string {
  if (v === Verdict.VERDICT_BETTER) return 'ok';
  if (v === Verdict.VERDICT_WORSE) return 'error';
  return 'muted';
}

/** The colours of the tones in an SVG, whose strokes the stylesheet's classes do not reach. */
const TONE_COLOURS: Record<string, string> = { ok: '#2e7d32', error: '#c62828', muted: '#777' };

/** An interval as the CLI prints it: estimate [lower, upper], or n/a. */
function lift(l: experimentsV1.Lift | undefined, asPercent: boolean): string {
  if (!l?.available) return 'n/a';
  const f = asPercent ? percent : num;
  return `${f(l.estimate)} [${f(l.ciLower)}, ${f(l.ciUpper)}]`;
}

/**
 * Relative lifts with their confidence intervals, one row per metric and treatment, on one axis around 0 (a
 * forest plot): where the interval lies clear of 0 the treatment differs at the experiment's alpha.
 */
function liftChart(metrics: readonly experimentsV1.MetricResult[]): Html {
  const rows = metrics.flatMap((m) =>
    m.comparisons.flatMap((c) => (c.relative?.available ? [{ label: `${metricName(m.metric)} · ${c.variant}`, c, l: c.relative }] : [])),
  );
  if (rows.length === 0) return markup`<p class="muted">no relative lift to draw yet</p>`;
  const extent = Math.max(0.05, ...rows.flatMap((r) => [Math.abs(r.l.ciLower), Math.abs(r.l.ciUpper)])) * 1.1;
  const width = 760;
  const left = 220;
  const plot = width - left - 60;
  const rowHeight = 30;
  const height = rows.length * rowHeight + 40;
  const x = (v: number) => left + ((v + extent) / (2 * extent)) * plot;
  const parts = rows.map((r, n) => {
    const y = 20 + n * rowHeight + rowHeight / 2;
    const c = TONE_COLOURS[tone(r.c.verdict)];
    return `<text x="${left - 8}" y="${y + 4}" text-anchor="end" font-size="12">${escapeHtml(r.label)}</text>
      <line x1="${x(r.l.ciLower)}" x2="${x(r.l.ciUpper)}" y1="${y}" y2="${y}" stroke="${c}" stroke-width="3"/>
      <circle cx="${x(r.l.estimate)}" cy="${y}" r="5" fill="${c}"><title>${escapeHtml(`${r.label}: ${lift(r.l, true)}`)}</title></circle>`;
  });
  const ticks = [-extent, -extent / 2, 0, extent / 2, extent].map(
    (t) => `<text x="${x(t)}" y="${height - 4}" text-anchor="middle" font-size="11" fill="#777">${Math.round(t * 100)} %</text>`,
  );
  return raw(`<svg class="lift-chart" role="img" aria-label="relative lift with confidence intervals" width="${width}" height="${height}"
    viewBox="0 0 ${width} ${height}">
    <line x1="${x(0)}" x2="${x(0)}" y1="10" y2="${height - 18}" stroke="#999" stroke-dasharray="4 3"/>
    ${parts.join('')}${ticks.join('')}
  </svg>`);
}

/** Experiments and their results, read from the experiments service (results are computed there from the lake). */
@Controller()
export class ExperimentsController {
  constructor(
    private readonly peers: Peers,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get('experiments')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async experiments(): Promise<string> {
    return page(
      'Experiments',
      'experiments',
      panel({ id: 'experiments', title: 'Experiments', src: '/panels/experiments', refreshMs: 10_000, wide: true }, await this.list()),
    );
  }

  @Get('panels/experiments')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async listFragment(): Promise<string> {
    return (await this.list()).value;
  }

  @Get('experiments/:id')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async experiment(@Param('id') id: string): Promise<string> {
    const valid = ID.test(id);
    return page(
      `Experiment ${valid ? id : ''}`,
      'experiments',
      valid
        ? panel(
            {
              id: 'results',
              title: `Experiment ${id}`,
              src: `/panels/experiments/${encodeURIComponent(id)}`,
              refreshMs: 15_000,
              wide: true,
            },
            await this.results(id),
          )
        : panel(
            { id: 'results', title: 'Experiment', wide: true },
            markup`<p class="error">not an experiment id: letters, digits, . _ - (1 to 64)</p>`,
          ),
    );
  }

  @Get('panels/experiments/:id')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async resultsFragment(@Param('id') id: string): Promise<string> {
    if (!ID.test(id)) return markup`<p class="error">not an experiment id: letters, digits, . _ - (1 to 64)</p>`.value;
    return (await this.results(id)).value;
  }

  private list(): Promise<Html> {
    return settle(async () => {
      const { experiments } = await this.peers.call<experimentsV1.ListExperimentsResponse>('experiments', 'ListExperiments', {});
      const rows = experiments.map(
        (e) => markup`<tr data-experiment="${e.id}" data-status="${status(e.status)}">
          <td><a href="/experiments/${encodeURIComponent(e.id)}"><code>${e.id}</code></a></td>
          <td>${e.name}</td>
          <td>${status(e.status)}</td>
          <td>${e.layer}</td>
          <td class="num">${num(e.trafficPercent)} %</td>
          <td>${e.variants.map((v) => markup`${v.control ? '* ' : ''}${v.name} ${num(v.weight)} % (${treatment(v)})<br />`)}</td>
          <td>${metricName(e.primaryMetric)}${e.guardrailMetrics.length > 0 ? `; guardrails ${e.guardrailMetrics.map(metricName).join(', ')}` : ''}</td>
          <td>${when(e.startedAt)}</td>
        </tr>`,
      );
      return table(
        ['id', 'name', 'status', 'layer', 'traffic', 'variants (* control)', 'metrics', 'started'],
        rows,
        'no experiment yet (experiments-cli.js create …, apps/experiments/README.md)',
      );
    }, this.logger);
  }

  private results(id: string): Promise<Html> {
    return settle(async () => {
      const { results } = await this.peers.call<experimentsV1.GetResultsResponse>('experiments', 'GetResults', { id });
      if (!results) return markup`<p class="muted">no results</p>`;
      const srm = results.srm;
      const variants = table(
        ['variant', 'weight', 'users', 'observed share', 'exposures'],
        results.variants.map(
          (v) => markup`<tr data-variant="${v.name}">
            <td>${v.control ? '* ' : ''}${v.name}</td>
            <td class="num">${num(v.weight)} %</td>
            <td class="num">${v.users}</td>
            <td class="num">${percent(v.observedShare)}</td>
            <td class="num">${v.exposures}</td>
          </tr>`,
        ),
      );
      const metrics = results.metrics.map((m) => {
        const byVariant = new Map(m.comparisons.map((c) => [c.variant, c]));
        const rows = m.variants.map((v) => {
          const c = byVariant.get(v.variant);
          return markup`<tr data-metric="${metricName(m.metric)}" data-variant="${v.variant}">
            <td>${v.variant}</td>
            <td class="num">${v.users}</td>
            <td class="num">${num(v.mean)}</td>
            <td class="num">${c ? lift(c.absolute, false) : '—'}</td>
            <td class="num">${c ? lift(c.relative, true) : '—'}</td>
            <td class="num">${c?.absolute?.available ? num(c.absolute.pValue) : '—'}</td>
            <td>${c ? markup`<span class="${tone(c.verdict)}" data-verdict="${verdictName(c.verdict)}">${verdictName(c.verdict)}</span>` : 'control'}</td>
          </tr>`;
        });
        return markup`<h3>${metricName(m.metric)} ${m.primary ? '(primary)' : '(guardrail)'}</h3>
          ${table(['variant', 'users', 'value', 'absolute lift [CI]', 'relative lift [CI]', 'p', 'verdict'], rows)}`;
      });
      return markup`<p data-verdict="${verdictName(results.verdict)}">
          <strong class="${tone(results.verdict)}">${verdictName(results.verdict)}</strong> — ${results.verdictReason}
        </p>
        <p class="muted">exposures table version ${results.tableVersion}, computed ${when(results.computedAt)}</p>
        <p data-srm="${srm?.mismatch ? 'mismatch' : 'ok'}">
          Sample ratio check: chi-square ${num(srm?.chiSquare ?? 0)}, p ${num(srm?.pValue ?? 1)}
          ${srm?.mismatch ? markup`<strong class="error">MISMATCH: verdicts withheld</strong>` : markup`<span class="ok">passes</span>`}
        </p>
        ${variants}
        <h3>Relative lift with its confidence interval</h3>
        ${liftChart(results.metrics)}
        ${metrics}`;
    }, this.logger);
  }
}
