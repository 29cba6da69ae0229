import { Injectable } from '@nestjs/common';
import { ServiceMetrics } from '@pulse/platform';
import { Counter } from 'prom-client';
import { type HandledEvent, HandledEventsRepository } from './handled-events.repository';

export interface AnalyticsStatus {
  eventsHandled: number;
  startedAtMs: number;
}

/** The analytics slice's logic: validates input, records events through the repository port, reports status. */
@Injectable()
export class AnalyticsService {
  private readonly startedAtMs = Date.now();
  private readonly handled: Counter;

  constructor(
    private readonly events: HandledEventsRepository,
    metrics: ServiceMetrics,
  ) {
    this.handled = new Counter({
      name: 'analytics_events_handled_total',
      help: 'Tracked events handled by analytics (replays included)',
      registers: [metrics.registry],
    });
  }

  /** Records a batch; safe to replay (at-least-once delivery): each event id counts once. */
  async handle(events: readonly HandledEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.events.record(events);
    this.handled.inc(events.length);
  }

  async status(): Promise<AnalyticsStatus> {
    return { eventsHandled: await this.events.count(), startedAtMs: this.startedAtMs };
  }
}
