import { errorMessage, type Logger } from '@pulse/platform';
import type { EventRateLimiter } from '../behaviour/rate-limiter';
import type { IngestEventSender } from '../peers/ingest.client';
import { type SimulatorMetrics, typeName } from './simulator.metrics';

/**
 * One log line per interval of what the simulator did since the last one (events by type and per second,
 * sessions, errors, the rate), never one per event; a failing session is logged once per interval.
 */
export class ProgressLog {
  private last = { at: Date.now(), sent: new Map<number, number>(), sessions: 0, errors: 0 };
  private failure?: string;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: SimulatorMetrics,
    private readonly limiter: EventRateLimiter,
    private readonly sender: IngestEventSender,
  ) {}

  sessionFailed(error: unknown): void {
    if (this.failure === undefined) {
      this.failure = errorMessage(error);
      this.logger.warn({ err: error }, 'a session failed');
    }
  }

  log(): void {
    const now = Date.now();
    const m = this.metrics;
    const events: Record<string, number> = {};
    let sent = 0;
    for (const [type, n] of m.sentByType) {
      const delta = n - (this.last.sent.get(type) ?? 0);
      if (delta > 0) events[typeName(type)] = delta;
      sent += delta;
    }
    const errors = [...m.errors.values()].reduce((s, n) => s + n, 0);
    this.logger.info(
      {
        events,
        eventsPerSecond: Math.round((sent / Math.max(1, now - this.last.at)) * 10_000) / 10,
        sessions: m.sessionCount - this.last.sessions,
        errors: errors - this.last.errors,
        queued: this.sender.queued,
        rate: this.limiter.rate,
        currentRate: Math.round(this.limiter.currentRate * 10) / 10,
        throttle: this.limiter.throttle,
      },
      'simulating',
    );
    this.last = { at: now, sent: new Map(m.sentByType), sessions: m.sessionCount, errors };
    this.failure = undefined;
  }
}
