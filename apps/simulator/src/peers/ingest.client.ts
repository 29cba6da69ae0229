import { ingestV1 } from '@pulse/contracts';
import { GrpcStatus, type Logger, type UnaryClient } from '@pulse/platform';
import type { EventRateLimiter } from '../behaviour/rate-limiter';
import type { SimulatorMetrics } from '../simulator/simulator.metrics';
import { callWithRetry, isTransient, sleep, statusName } from './peer-call';

export interface IngestSenderOptions {
  /** Events per TrackEvents call at most. */
  batchEvents: number;
  /** A partial batch goes out after this long. */
  flushIntervalMs: number;
  /** The queue counts as full from here: sessions wait. */
  maxQueued: number;
  deadlineMs: number;
  /** TrackEventsRequest.client_id. */
  clientId: string;
}

const isBackpressure = (error: unknown) => (error as { code?: number })?.code === GrpcStatus.RESOURCE_EXHAUSTED;

/**
 * Sends the simulated users' events to ingest (`TrackEvents`) in batches, one call at a time. A batch that fails
 * with UNAVAILABLE or DEADLINE_EXCEEDED is sent again with the same event ids (ingest deduplicates) after an
 * exponential backoff; RESOURCE_EXHAUSTED also halves the rate limiter's throttle, so the simulator slows down
 * instead of flooding. While a batch waits the queue fills up to its limit and sessions stop starting. Any other
 * error drops the batch (counted and logged).
 */
export class IngestEventSender {
  private readonly queue: ingestV1.ActivityEvent[] = [];
  private stopping = false;
  private graceDeadline = Infinity;
  private loop?: Promise<void>;
  private wake?: () => void;
  private loggedRejections = new Set<number>();

  constructor(
    private readonly client: UnaryClient,
    private readonly options: IngestSenderOptions,
    private readonly limiter: EventRateLimiter,
    private readonly metrics: SimulatorMetrics,
    private readonly logger: Logger,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  /** Whether sessions should wait for the queue to drain. */
  get full(): boolean {
    return this.queue.length >= this.options.maxQueued;
  }

  enqueue(events: readonly ingestV1.ActivityEvent[]): void {
    for (const e of events) this.queue.push(e);
    if (this.queue.length >= this.options.batchEvents) this.wake?.();
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Sends what is queued (the batch in flight first) for at most `graceMs`, then stops. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.graceDeadline = Date.now() + graceMs;
    this.wake?.();
    await this.loop;
    if (this.queue.length > 0) this.logger.warn({ dropped: this.queue.length }, 'events not sent before shutdown');
  }

  private async run(): Promise<void> {
    let lastSend = Date.now();
    for (;;) {
      const overGrace = Date.now() > this.graceDeadline;
      if (this.stopping && (this.queue.length === 0 || overGrace)) return;
      const due =
        this.queue.length >= this.options.batchEvents ||
        (this.queue.length > 0 && (this.stopping || Date.now() - lastSend >= this.options.flushIntervalMs));
      if (!due) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.flushIntervalMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
        continue;
      }
      await this.send(this.queue.splice(0, this.options.batchEvents));
      lastSend = Date.now();
    }
  }

  private async send(batch: ingestV1.ActivityEvent[]): Promise<void> {
    try {
      const response = await callWithRetry(
        'ingest',
        () =>
          this.client.call<ingestV1.TrackEventsResponse>(
            'TrackEvents',
            // Only the events not accepted come back: the answer to a clean batch is a few bytes.
            { events: batch, clientId: this.options.clientId, omitAcceptedResults: true },
            { deadlineMs: this.options.deadlineMs },
          ),
        {
          attempts: Infinity,
          baseDelayMs: 250,
          maxDelayMs: 5_000,
          retryable: (error) => isTransient(error) || isBackpressure(error),
          onFailure: (error) => isBackpressure(error) && this.limiter.backOff(),
          stopped: () => Date.now() > this.graceDeadline,
        },
        this.metrics,
      );
      this.account(batch, response);
      this.limiter.recover();
    } catch (error) {
      this.logger.warn({ events: batch.length, code: statusName(error), err: error }, 'dropped a batch ingest did not take');
      await sleep(this.options.flushIntervalMs);
    }
  }

  private account(batch: readonly ingestV1.ActivityEvent[], response: ingestV1.TrackEventsResponse): void {
    // The results list the events not accepted (omit_accepted_results); every other event of the batch was accepted.
    const rejected = new Set<number>();
    for (const result of response.results ?? []) {
      if (result.status !== ingestV1.EventStatus.EVENT_STATUS_REJECTED || !batch[result.index]) continue;
      rejected.add(result.index);
      this.metrics.eventRejected(result.reason);
      if (!this.loggedRejections.has(result.reason)) {
        this.loggedRejections.add(result.reason);
        this.logger.warn(
          { reason: ingestV1.RejectionReason[result.reason], field: result.field, message: result.message },
          'ingest rejected an event',
        );
      }
    }
    batch.forEach((event, index) => {
      if (!rejected.has(index)) this.metrics.eventsSent(event.type);
    });
  }
}
