import { Injectable } from '@nestjs/common';
import { ServiceMetrics } from '@pulse/platform';
import { Counter } from 'prom-client';
import { type HandledEvent, HandledEventsRepository } from './handled-events.repository';

export interface PrivacyStatus {
  eventsHandled: number;
  startedAtMs: number;
}

/** The privacy slice's logic: validates input, records events through the repository port, reports status. */
@Injectable()
export class PrivacyService {
  private readonly startedAtMs = Date.now();
  private readonly handled: Counter;

  constructor(
    private readonly events: HandledEventsRepository,
    metrics: ServiceMetrics,
  ) {
    this.handled = new Counter({
      name: 'privacy_events_handled_total',
      help: 'Tracked events handled by privacy (replays included)',
      registers: [metrics.registry],
    });
  }

  /** Records a batch; safe to replay (at-least-once delivery): each event id counts once. */
  async handle(events: readonly HandledEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.events.record(events);
    this.handled.inc(events.length);
  }

  async status(): Promise<PrivacyStatus> {
    return { eventsHandled: await this.events.count(), startedAtMs: this.startedAtMs };
  }
}
