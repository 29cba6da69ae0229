import { Controller, Get, Header, Inject, NotFoundException, Param } from '@nestjs/common';
import { analyticsV1 } from '@pulse/contracts';
import { LOGGER, type Logger } from '@pulse/platform';
import type { ChartData } from '../metrics/metrics-sampler';
import { PeerError } from '../peers/peer-error';
import { Peers } from '../peers/peers';
import { peerFailure } from '../web/api-error';
import { enumName, num, when } from '../web/format';
import { type Html, markup } from '../web/html';
import { chart, page, panel, settle, table } from '../web/layout';

type Row = Record<string, unknown>;

/** A read of a job's output goes through Spark: slower than the console's other calls. */
const READ_DEADLINE_MS = 20_000;
const INSIGHT_PANELS = ['retention', 'funnel', 'topics', 'influence', 'jobs'] as const;
type InsightPanel = (typeof INSIGHT_PANELS)[number];

const pct = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : '—');
const count = (v: unknown) => (typeof v === 'number' ? num(v) : '—');

/**
 * The analytics service's gold tables on Spark, as charts and tables: active users over time, retention cohorts,
 * the impression → click → like funnel, topics, the most influential accounts (PageRank), and the jobs that build
 * them with their last runs. Each table is read with ReadJobOutput at its latest version.
 */
@Controller()
export class InsightsController {
  constructor(
    private readonly peers: Peers,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get('insights')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async insights(): Promise<string> {
    const bodies = await Promise.all(INSIGHT_PANELS.map((name) => this.render(name)));
    const titles: Record<InsightPanel, string> = {
      retention: 'Weekly retention cohorts',
      funnel: 'Impression → click → like, per day',
      topics: 'Topics of the latest day',
      influence: 'Most influential accounts (PageRank)',
      jobs: 'Jobs',
    };
    return page(
      'Insights',
      'insights',
      markup`<div class="grid">
        ${panel({ id: 'active-users', title: 'Active users (DAU, WAU, MAU)', wide: true }, chart('active-users-chart', '/api/charts/insights/active-users', 60_000))}
        ${INSIGHT_PANELS.map((name, i) =>
          panel(
            {
              id: name,
              title: titles[name],
              src: `/panels/insights/${name}`,
              refreshMs: 60_000,
              wide: name !== 'influence' && name !== 'topics',
            },
            bodies[i],
          ),
        )}
      </div>`,
    );
  }

  @Get('panels/insights/:panel')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async fragment(@Param('panel') name: string): Promise<string> {
    if (!(INSIGHT_PANELS as readonly string[]).includes(name)) throw new NotFoundException(`no insights panel ${name}`);
    return (await this.render(name as InsightPanel)).value;
  }

  /** DAU, WAU and MAU per day of the active_users output (up to 180 days). */
  @Get('api/charts/insights/active-users')
  async activeUsersChart(): Promise<ChartData> {
    let rows: Row[];
    try {
      rows = (await this.read('active_users', 180)).rows;
    } catch (error) {
      throw peerFailure(error);
    }
    const days = [...rows].reverse();
    return {
      unit: 'users',
      x: days.map((r) => Date.parse(`${String(r['activity_date'])}T00:00:00Z`) / 1000),
      series: (['dau', 'wau', 'mau'] as const).map((k) => ({ label: k.toUpperCase(), values: days.map((r) => numberOrNull(r[k])) })),
    };
  }

  private render(name: InsightPanel): Promise<Html> {
    const renderers: Record<InsightPanel, () => Promise<Html>> = {
      retention: () => this.retention(),
      funnel: () => this.funnel(),
      topics: () => this.topics(),
      influence: () => this.influence(),
      jobs: () => this.jobs(),
    };
    return settle(async () => {
      try {
        return await renderers[name]();
      } catch (error) {
        // A job that has not run yet is not a failure of the page: say which job would fill the panel.
        if (error instanceof PeerError && error.status === 'NOT_FOUND') return markup`<p class="muted" data-empty>${error.reason}</p>`;
        throw error;
      }
    }, this.logger);
  }

  /** Cohorts by the week of their first activity, the share of each active 0..7 weeks later. */
  private async retention(): Promise<Html> {
    const { rows, version } = await this.read('retention_cohorts', 400);
    const weeks = [...new Set(rows.map((r) => String(r['cohort_week'])))].slice(0, 12);
    const offsets = [0, 1, 2, 3, 4, 5, 6, 7];
    const cell = (week: string, offset: number) => rows.find((r) => String(r['cohort_week']) === week && r['week_offset'] === offset);
    const body = weeks.map((week) => {
      const size = cell(week, 0)?.['cohort_size'] ?? rows.find((r) => String(r['cohort_week']) === week)?.['cohort_size'];
      return markup`<tr data-cohort="${week}">
        <td>${week}</td>
        <td class="num">${count(size)}</td>
        ${offsets.map((o) => markup`<td class="num">${pct(cell(week, o)?.['retention'])}</td>`)}
      </tr>`;
    });
    return markup`${table(['cohort (week)', 'users', ...offsets.map((o) => `week ${o}`)], body, 'no cohorts yet')}${version_(version)}`;
  }

  private async funnel(): Promise<Html> {
    const { rows, version } = await this.read('engagement_funnel', 14);
    const body = rows.map(
      (r) => markup`<tr data-day="${String(r['event_date'])}" data-surface="${String(r['surface'])}">
        <td>${String(r['event_date'])}</td>
        <td>${String(r['surface'])}</td>
        <td class="num">${count(r['impressed'])}</td>
        <td class="num">${count(r['clicked'])}</td>
        <td class="num">${count(r['liked'])}</td>
        <td class="num">${pct(r['click_rate'])}</td>
        <td class="num">${pct(r['like_rate'])}</td>
      </tr>`,
    );
    return markup`${table(['day', 'surface', 'impressed', 'clicked', 'liked', 'click rate', 'like rate'], body, 'no impressions yet')}${version_(version)}`;
  }

  private async topics(): Promise<Html> {
    const { rows, version } = await this.read('topic_engagement', 200);
    const latest = rows[0]?.['event_date'];
    const body = rows
      .filter((r) => r['event_date'] === latest)
      .slice(0, 10)
      .map(
        (r) => markup`<tr data-topic="${String(r['topic'])}">
          <td>${String(r['topic'])}</td>
          <td class="num">${count(r['users'])}</td>
          <td class="num">${count(r['posts'])}</td>
          <td class="num">${pct(r['ctr'])}</td>
          <td class="num">${pct(r['engagement_rate'])}</td>
        </tr>`,
      );
    return markup`<p>${latest ? String(latest) : '—'}</p>${table(['topic', 'users', 'posts', 'CTR', 'engagement'], body, 'no activity yet')}${version_(version)}`;
  }

  private async influence(): Promise<Html> {
    const { rows, version } = await this.read('pagerank', 10);
    const body = rows.map(
      (r) => markup`<tr data-person="${String(r['user_id'])}">
        <td class="num">${count(r['pagerank_rank'])}</td>
        <td><a href="/users/${encodeURIComponent(String(r['user_id']))}"><code>${String(r['user_id'])}</code></a></td>
        <td class="num">${count(r['followers'])}</td>
        <td class="num">${typeof r['pagerank'] === 'number' ? r['pagerank'].toExponential(2) : '—'}</td>
      </tr>`,
    );
    return markup`${table(['rank', 'account', 'followers', 'PageRank'], body, 'no follow graph yet')}${version_(version)}`;
  }

  private async jobs(): Promise<Html> {
    const { jobs } = await this.peers.call<analyticsV1.ListJobsResponse>('analytics', 'ListJobs', {});
    const body = jobs.map((j) => {
      const state = j.lastRun ? enumName(analyticsV1.RunState, j.lastRun.state, 'RUN_STATE_') : 'never run';
      return markup`<tr data-job="${j.name}" data-state="${state}">
        <td><code>${j.name}</code></td>
        <td><code>${j.schedule || 'on request'}</code></td>
        <td class="${state === 'SUCCEEDED' ? 'ok' : state === 'FAILED' ? 'bad' : 'muted'}">${state.toLowerCase()}</td>
        <td>${j.lastRun?.finishedAt ? when(j.lastRun.finishedAt) : '—'}</td>
        <td class="muted">${j.lastRun?.failure?.message ?? ''}</td>
        <td>${j.nextRunAt ? when(j.nextRunAt) : '—'}</td>
      </tr>`;
    });
    return table(['job', 'schedule', 'last run', 'finished', 'failure', 'next run'], body, 'no jobs');
  }

  private async read(job: string, limit: number): Promise<{ rows: Row[]; version: number }> {
    const response = await this.peers.call<analyticsV1.ReadJobOutputResponse>(
      'analytics',
      'ReadJobOutput',
      { job, limit },
      READ_DEADLINE_MS,
    );
    return { rows: response.rows.map((r) => JSON.parse(r) as Row), version: Number(response.version) };
  }
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function version_(version: number): Html {
  return markup`<p class="muted">table version ${version}</p>`;
}
