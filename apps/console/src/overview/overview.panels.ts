import { Inject, Injectable } from '@nestjs/common';
import { cdcV1, etlV1, featuresV1, recsV1, timestampToMillis } from '@pulse/contracts';
import { LOGGER, type Logger, type Readiness } from '@pulse/platform';
import type { PeerName } from '../config/console.config';
import { MetricsSampler } from '../metrics/metrics-sampler';
import { sumBy } from '../metrics/prometheus-text';
import { PeerError } from '../peers/peer-error';
import { Peers } from '../peers/peers';
import { ago, bytes, duration, enumName, num, when } from '../web/format';
import { deltaTables } from '../lake/delta-tables';
import { type Html, markup } from '../web/html';
import { failure, settle, table } from '../web/layout';

export const OVERVIEW_PANELS = ['services', 'lag-now', 'cdc', 'etl', 'features', 'model'] as const;
export type OverviewPanel = (typeof OVERVIEW_PANELS)[number];

/** The overview's panels, each rendered from its own calls with the console's deadline. */
@Injectable()
export class OverviewPanels {
  constructor(
    private readonly peers: Peers,
    private readonly sampler: MetricsSampler,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  render(name: OverviewPanel): Promise<Html> {
    const renderers: Record<OverviewPanel, () => Promise<Html>> = {
      services: () => this.services(),
      'lag-now': () => this.lagNow(),
      cdc: () => this.cdc(),
      etl: () => this.etl(),
      features: () => this.features(),
      model: () => this.model(),
    };
    return settle(renderers[name], this.logger);
  }

  /** Every service's /health/ready: ready, not ready with the failing checks, or unreachable. */
  private async services(): Promise<Html> {
    const rows = await Promise.all(
      this.peers.all().map(async (peer) => {
        const state = await this.readiness(peer.name);
        return markup`<tr data-service="${peer.name}" data-ready="${state.kind}">
          <td>${peer.name}</td><td>${state.html}</td><td><code>${peer.grpc ?? '—'}</code></td><td><code>${peer.http}</code></td>
        </tr>`;
      }),
    );
    return table(['service', 'readiness', 'gRPC', 'HTTP'], rows);
  }

  private async readiness(name: PeerName): Promise<{ kind: 'ready' | 'unready' | 'unreachable'; html: Html }> {
    try {
      const answer = await this.peers.http(name, '/health/ready');
      let body: Readiness | undefined;
      try {
        body = JSON.parse(answer.text) as Readiness;
      } catch {
        body = undefined;
      }
      if (answer.status === 200) return { kind: 'ready', html: markup`<span class="ok">ready</span>` };
      const failing = Object.entries(body?.checks ?? {})
        .filter(([, c]) => !c.ok)
        .map(([check, c]) => `${check}: ${c.error ?? 'failing'}`);
      const why = body?.draining ? 'draining' : failing.join('; ') || `HTTP ${answer.status}`;
      return { kind: 'unready', html: markup`<span class="warn">not ready</span> <span class="muted">${why}</span>` };
    } catch (error) {
      const reason = error instanceof PeerError ? error.reason : String(error);
      return { kind: 'unreachable', html: markup`<span class="bad">unreachable</span> <span class="muted">${reason}</span>` };
    }
  }

  /** The current lag of each consumer group, from the last scrape (the chart shows its history). */
  private async lagNow(): Promise<Html> {
    const rows: Html[] = [];
    for (const peer of this.peers.all()) {
      const samples = this.sampler.samples(peer.name);
      if (!samples) continue;
      const lags = [
        ...sumBy(samples, 'kafka_consumer_lag_records', 'group'),
        ...[...sumBy(samples, 'etl_stream_lag_records', 'stream')].map(([stream, lag]) => [`etl:${stream}`, lag] as const),
      ];
      for (const [group, lag] of lags) rows.push(markup`<tr><td>${group}</td><td>${peer.name}</td><td class="num">${num(lag)}</td></tr>`);
    }
    return table(['group', 'service', 'lag (records)'], rows, 'no consumer group has reported lag yet');
  }

  /** cdc GetStatus: the connector, its replication slot and how far behind it is. */
  private async cdc(): Promise<Html> {
    const { connector } = await this.peers.call<cdcV1.GetStatusResponse>('cdc', 'GetStatus', {});
    if (!connector) return markup`<p class="muted">cdc reports no connector</p>`;
    const slot = connector.slot;
    const lagMs = slot?.lag ? slot.lag.seconds * 1000 + slot.lag.nanos / 1e6 : 0;
    return markup`<dl>
      <dt>connector</dt>
      <dd>${connector.name} · <strong data-cdc-state>${enumName(cdcV1.ConnectorState, connector.state, 'CONNECTOR_STATE_')}</strong></dd>
      <dt>slot</dt>
      <dd><code>${slot?.slotName ?? '—'}</code> ${slot?.active ? 'active' : 'inactive'}</dd>
      <dt>slot lag</dt>
      <dd data-slot-lag="${Number(slot?.lagBytes ?? 0)}">${bytes(Number(slot?.lagBytes ?? 0))} · ${duration(lagMs)}</dd>
      <dt>last event</dt>
      <dd>${when(connector.lastEventAt)}</dd>
      ${
        connector.lastError
          ? markup`<dt>last error</dt>
              <dd class="bad">${connector.lastError}</dd>`
          : ''
      }
    </dl>`;
  }

  /** etl GetStatus: each table's version, files and last commit; each stream's state. */
  private async etl(): Promise<Html> {
    const status = await this.peers.call<etlV1.GetStatusResponse>('etl', 'GetStatus', {});
    const streams = status.streams.map(
      (s) => markup`<tr>
        <td>${s.name}</td>
        <td>${enumName(etlV1.StreamState, s.state, 'STREAM_STATE_')}</td>
        <td class="num">${num(s.offsets.reduce((n, o) => n + Number(o.lag), 0))}</td>
        <td>${when(s.watermark)}</td>
      </tr>`,
    );
    return markup`${deltaTables(status.tables, false)}${table(['stream', 'state', 'lag', 'watermark'], streams, 'no streams on this replica')}`;
  }

  /**
   * Feature freshness: the registry's views (ttl, last materialised) and, from feature-store's /metrics, how long
   * window results took to be online after their window closed.
   */
  private async features(): Promise<Html> {
    const { registry } = await this.peers.call<featuresV1.GetRegistryResponse>('feature-store', 'GetRegistry', {});
    if (!registry) return markup`<p class="muted">no registry</p>`;
    const samples = this.sampler.samples('feature-store') ?? [];
    const delaySum = samples.find((s) => s.name === 'feature_store_aggregate_online_delay_seconds_sum')?.value ?? 0;
    const delayCount = samples.find((s) => s.name === 'feature_store_aggregate_online_delay_seconds_count')?.value ?? 0;
    const views = registry.featureViews.map((v) => {
      const ttlMs = v.ttl ? v.ttl.seconds * 1000 : 0;
      const materialized = v.materializedUntil ? timestampToMillis(v.materializedUntil) : null;
      return markup`<tr>
        <td>${v.name}</td>
        <td>${v.entities.join(', ')}</td>
        <td>${v.online ? 'online' : 'offline'}</td>
        <td>${ttlMs ? duration(ttlMs) : 'forever'}</td>
        <td>${enumName(featuresV1.SourceType, v.source?.type ?? 0, 'SOURCE_TYPE_')}</td>
        <td>${materialized === null ? 'never' : ago(materialized)}</td>
      </tr>`;
    });
    const delay =
      delayCount > 0
        ? `window results online on average ${duration((delaySum / delayCount) * 1000)} after their window closed (${num(delayCount)} results)`
        : 'no window result pushed online yet';
    return markup`<p>registry <strong>${registry.project}</strong> version <strong>${registry.version}</strong>, changed ${when(registry.lastUpdatedAt)}</p>
      ${table(['view', 'entities', 'serving', 'ttl', 'source', 'materialised'], views, 'no feature views')}
      <p class="muted" data-online-delay>${delay}</p>`;
  }

  /** recs GetModel: the version serving traffic. */
  private async model(): Promise<Html> {
    try {
      const { model } = await this.peers.call<recsV1.GetModelResponse>('recommender', 'GetModel', {});
      if (!model) return markup`<p class="muted">no model</p>`;
      return markup`<dl>
        <dt>version</dt>
        <dd><code data-model-version>${model.version}</code></dd>
        <dt>algorithm</dt>
        <dd>${model.algorithm}</dd>
        <dt>promoted</dt>
        <dd>${when(model.promotedAt)}</dd>
        <dt>metrics</dt>
        <dd>${Object.entries(model.metrics).map(([k, v]) => markup`<span class="metric">${k} <strong>${num(v)}</strong></span> `)}</dd>
      </dl>`;
    } catch (error) {
      if (error instanceof PeerError && error.status === 'NOT_FOUND') return markup`<p class="muted">no version is promoted yet</p>`;
      return failure(error);
    }
  }
}
