import { Injectable } from '@nestjs/common';
import { ingestV1 } from '@pulse/contracts';
import { ServiceMetrics } from '@pulse/platform';
import { Counter, Gauge } from 'prom-client';
import type { PeerErrorSink } from '../peers/peer-call';

/** What the gauges read when Prometheus scrapes. */
export interface LiveFigures {
  rate: number;
  currentRate: number;
  queuedEvents: number;
  users: number;
  posts: number;
  running: boolean;
}

/**
 * The simulator's counters, on /metrics (Prometheus) and for GetStatus (the same numbers, kept here as plain
 * maps): events sent by type, sessions, recommendation lists by strategy, errors by peer and code, app writes.
 */
@Injectable()
export class SimulatorMetrics implements PeerErrorSink {
  readonly sentByType = new Map<ingestV1.ActivityType, number>();
  readonly errors = new Map<string, number>();
  readonly listsByStrategy = new Map<string, number>();
  rejected = 0;
  sessionCount = 0;
  private live: () => LiveFigures | undefined = () => undefined;

  private readonly sent: Counter<'type'>;
  private readonly rejectedEvents: Counter<'reason'>;
  private readonly sessions: Counter<'source'>;
  private readonly lists: Counter<'strategy'>;
  private readonly peerErrors: Counter<'peer' | 'code'>;
  private readonly writes: Counter<'table' | 'operation'>;
  private readonly media: Counter;

  constructor(metrics: ServiceMetrics) {
    const registers = [metrics.registry];
    this.sent = new Counter({
      name: 'simulator_events_sent_total',
      help: 'Events ingest accepted, by type',
      labelNames: ['type'],
      registers,
    });
    this.rejectedEvents = new Counter({
      name: 'simulator_events_rejected_total',
      help: 'Events ingest rejected, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.sessions = new Counter({
      name: 'simulator_sessions_total',
      help: 'Sessions run, by where the feed came from (recommendations or browse)',
      labelNames: ['source'],
      registers,
    });
    this.lists = new Counter({
      name: 'simulator_recommendations_total',
      help: 'Recommendation lists received, by strategy',
      labelNames: ['strategy'],
      registers,
    });
    this.peerErrors = new Counter({
      name: 'simulator_peer_errors_total',
      help: 'Failed calls (each retry counts), by peer and status code',
      labelNames: ['peer', 'code'],
      registers,
    });
    this.writes = new Counter({
      name: 'simulator_app_writes_total',
      help: 'Rows written to the app database by simulated users, by table and operation',
      labelNames: ['table', 'operation'],
      registers,
    });
    this.media = new Counter({ name: 'simulator_media_uploads_total', help: 'Media objects uploaded through storage', registers });
    const live = () => this.live();
    const gauge = (name: string, help: string, read: (f: LiveFigures) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const figures = live();
          if (figures) this.set(read(figures));
        },
      });
    gauge('simulator_rate_target_events_per_second', 'Target events per second as set (0: paused)', (f) => f.rate);
    gauge(
      'simulator_rate_current_events_per_second',
      'Target events per second now: rate × daily rhythm × backpressure',
      (f) => f.currentRate,
    );
    gauge('simulator_queued_events', 'Events waiting to be sent to ingest', (f) => f.queuedEvents);
    gauge('simulator_world_users', 'Users of the simulated world', (f) => f.users);
    gauge('simulator_world_posts', 'Posts of the simulated world', (f) => f.posts);
    gauge('simulator_running', '1 while sessions run', (f) => (f.running ? 1 : 0));
  }

  /** Where the gauges read from, once the simulation runs. */
  watch(live: () => LiveFigures): void {
    this.live = live;
  }

  eventsSent(type: ingestV1.ActivityType, n = 1): void {
    this.sentByType.set(type, (this.sentByType.get(type) ?? 0) + n);
    this.sent.inc({ type: typeName(type) }, n);
  }

  eventRejected(reason: ingestV1.RejectionReason): void {
    this.rejected++;
    this.rejectedEvents.inc({ reason: ingestV1.RejectionReason[reason] ?? String(reason) });
  }

  session(source: 'recommendations' | 'browse'): void {
    this.sessionCount++;
    this.sessions.inc({ source });
  }

  recommendationList(strategy: string): void {
    this.listsByStrategy.set(strategy, (this.listsByStrategy.get(strategy) ?? 0) + 1);
    this.lists.inc({ strategy });
  }

  peerError(peer: string, code: string): void {
    const key = `${peer}/${code}`;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
    this.peerErrors.inc({ peer, code });
  }

  appWrite(table: string, operation: 'insert' | 'update' | 'delete', n = 1): void {
    this.writes.inc({ table, operation }, n);
  }

  mediaUploaded(): void {
    this.media.inc();
  }

  get sentTotal(): number {
    let n = 0;
    for (const v of this.sentByType.values()) n += v;
    return n;
  }
}

/** `ACTIVITY_TYPE_IMPRESSION` → `IMPRESSION`. */
export function typeName(type: ingestV1.ActivityType): string {
  return (ingestV1.ActivityType[type] ?? String(type)).replace(/^ACTIVITY_TYPE_/, '');
}
