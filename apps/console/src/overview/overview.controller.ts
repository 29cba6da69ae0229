import { Controller, Get, Header, NotFoundException, Param } from '@nestjs/common';
import { type ChartData, type ChartName, MetricsSampler } from '../metrics/metrics-sampler';
import { markup } from '../web/html';
import { chart, page, panel } from '../web/layout';
import { OVERVIEW_PANELS, type OverviewPanel, OverviewPanels } from './overview.panels';

const TITLES: Record<OverviewPanel, string> = {
  services: 'Services',
  'lag-now': 'Consumer lag now',
  cdc: 'CDC',
  etl: 'Lake tables and streams',
  features: 'Feature freshness',
  model: 'Model in service',
};
const CHARTS: ChartName[] = ['throughput', 'lag', 'slot-lag'];

/** The overview: every service's readiness, throughput and lag charts, and one panel per service's status. */
@Controller()
export class OverviewController {
  constructor(
    private readonly panels: OverviewPanels,
    private readonly sampler: MetricsSampler,
  ) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  async overview(): Promise<string> {
    const bodies = await Promise.all(OVERVIEW_PANELS.map((name) => this.panels.render(name)));
    const section = (name: OverviewPanel, wide = false) =>
      panel(
        { id: name, title: TITLES[name], src: `/panels/overview/${name}`, refreshMs: 3000, wide },
        bodies[OVERVIEW_PANELS.indexOf(name)],
      );
    return page(
      'Overview',
      'overview',
      markup`<div class="grid">
        ${section('services', true)}
        ${panel({ id: 'throughput', title: 'Events per second, per topic', wide: true }, chart('throughput-chart', '/api/charts/overview/throughput', 2000))}
        ${panel({ id: 'lag', title: 'Consumer lag, per group' }, chart('lag-chart', '/api/charts/overview/lag', 2000))} ${section('lag-now')}
        ${section('cdc')} ${panel({ id: 'slot-lag', title: 'CDC slot lag' }, chart('slot-lag-chart', '/api/charts/overview/slot-lag', 2000))}
        ${section('etl', true)} ${section('features', true)} ${section('model')}
      </div>`,
    );
  }

  @Get('panels/overview/:panel')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async fragment(@Param('panel') name: string): Promise<string> {
    if (!(OVERVIEW_PANELS as readonly string[]).includes(name)) throw new NotFoundException(`no overview panel ${name}`);
    return (await this.panels.render(name as OverviewPanel)).value;
  }

  @Get('api/charts/overview/:name')
  chartData(@Param('name') name: string): ChartData {
    if (!(CHARTS as string[]).includes(name)) throw new NotFoundException(`no chart ${name}`);
    return this.sampler.chart(name as ChartName);
  }
}
