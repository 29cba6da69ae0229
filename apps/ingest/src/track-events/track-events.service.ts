import { Inject, Injectable } from '@nestjs/common';
import { ingestV1, Topics } from '@pulse/contracts';
import {
  grpcErrors,
  KAFKA_CLIENT,
  kafkaErrorMessage,
  type KafkaClient,
  LOGGER,
  type Logger,
  type OutgoingRecord,
  ServiceMetrics,
} from '@pulse/platform';
import { randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import { INGEST_CONFIG, type IngestConfig } from '../config/ingest.config';
import { EventDedupRepository } from './event-dedup.redis.repository';
import { validateEvent } from './event-validator';
import { PiiAnonymizer } from './pii-anonymizer';

const { EventStatus, RejectionReason } = ingestV1;
const SCHEMA_VERSION = 1;

export interface BatchContext {
  clientId: string;
  sourceIp: string;
}

/**
 * Validates, deduplicates and records a batch of activity events: accepted ones to
 * pulse.activity.tracked.v1 (keyed by user, so each user's events keep their order), rejected ones to
 * pulse.activity.rejected.v1 with the reason. Answers only after Kafka acknowledged every record (acks=all).
 */
@Injectable()
export class TrackEventsService {
  private inFlight = 0;
  private readonly outcomes: Counter<'status' | 'reason'>;
  private readonly anonymizer: PiiAnonymizer;

  constructor(
    @Inject(INGEST_CONFIG) private readonly config: IngestConfig,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly dedup: EventDedupRepository,
    metrics: ServiceMetrics,
  ) {
    this.anonymizer = new PiiAnonymizer({
      ip: config.INGEST_IP_ANONYMIZATION,
      userAgent: config.INGEST_USER_AGENT_ANONYMIZATION,
      ipv4PrefixBits: config.INGEST_IPV4_PREFIX_BITS,
      ipv6PrefixBits: config.INGEST_IPV6_PREFIX_BITS,
      salt: config.INGEST_PII_SALT,
    });
    this.outcomes = new Counter({
      name: 'ingest_events_total',
      help: 'Events handled by TrackEvents, by outcome',
      labelNames: ['status', 'reason'],
      registers: [metrics.registry],
    });
  }

  async track(events: readonly unknown[], context: BatchContext): Promise<ingestV1.TrackEventsResponse> {
    this.checkBatch(events, context);
    if (this.inFlight + events.length > this.config.INGEST_MAX_IN_FLIGHT_EVENTS) {
      throw grpcErrors.resourceExhausted(
        `ingest is at its limit of ${this.config.INGEST_MAX_IN_FLIGHT_EVENTS} events in flight; retry with backoff`,
      );
    }
    this.inFlight += events.length;
    try {
      return await this.record(events, context);
    } finally {
      this.inFlight -= events.length;
    }
  }

  /** Same checks as `track` (including duplicates), nothing recorded. */
  async validate(events: readonly unknown[], context: BatchContext): Promise<ingestV1.ValidateEventsResponse> {
    this.checkBatch(events, context);
    const { results } = await this.classify(events, Date.now());
    return { results };
  }

  private async record(events: readonly unknown[], context: BatchContext): Promise<ingestV1.TrackEventsResponse> {
    const now = Date.now();
    const { results, accepted, rejected } = await this.classify(events, now);
    const ingest: ingestV1.IngestMetadata = {
      schemaVersion: SCHEMA_VERSION,
      sourceIp: this.anonymizer.ip(context.sourceIp),
      clientId: context.clientId,
      requestId: randomUUID(),
    };
    const receivedAt = { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 };
    // Personal fields are anonymized here, after validation: nothing downstream sees them as sent.
    const trackedRecords: OutgoingRecord<string, ingestV1.ActivityTracked>[] = accepted.map((event) => ({
      key: event.userId,
      value: { event: this.anonymizer.event(event), receivedAt, ingest },
      timestampMs: now,
    }));
    const rejectedRecords: OutgoingRecord<string, ingestV1.ActivityRejected>[] = rejected.map((r) => ({
      key: r.event.eventId,
      value: {
        event: this.anonymizer.event(r.event),
        reason: r.reason,
        message: r.message,
        field: r.field,
        rejectedAt: receivedAt,
        ingest,
      },
      timestampMs: now,
    }));
    try {
      await this.kafka.producer.sendMany([
        { topic: Topics.activityTracked, records: trackedRecords },
        { topic: Topics.activityRejected, records: rejectedRecords },
      ]);
    } catch (error) {
      this.logger.error({ err: error, events: events.length }, 'could not make the batch durable');
      throw grpcErrors.unavailable(
        `events could not be written to Kafka (${kafkaErrorMessage(error)}); retry the batch with the same event_ids`,
      );
    }
    await this.dedup.markAccepted(accepted.map((e) => e.eventId));

    let acceptedCount = 0;
    let rejectedCount = 0;
    let duplicateCount = 0;
    const tally = new Map<string, { status: ingestV1.EventStatus; reason: ingestV1.RejectionReason; n: number }>();
    for (const r of results) {
      if (r.status === EventStatus.EVENT_STATUS_ACCEPTED) acceptedCount++;
      else if (r.status === EventStatus.EVENT_STATUS_REJECTED) rejectedCount++;
      else duplicateCount++;
      const key = `${r.status}:${r.reason}`;
      const entry = tally.get(key);
      if (entry) entry.n++;
      else tally.set(key, { status: r.status, reason: r.reason, n: 1 });
    }
    // Metrics once per outcome and batch, not once per event.
    for (const { status, reason, n } of tally.values()) {
      this.outcomes.inc({ status: EventStatus[status], reason: RejectionReason[reason] }, n);
    }
    return { results, acceptedCount, rejectedCount, duplicateCount };
  }

  private async classify(events: readonly unknown[], now: number) {
    const limits = { maxFutureSkewMs: this.config.INGEST_MAX_FUTURE_SKEW, maxPastSkewMs: this.config.INGEST_MAX_PAST_SKEW };
    const validations = events.map((raw) => validateEvent(raw, now, limits));
    const candidateIds = validations.filter((v) => v.ok).map((v) => v.event.eventId);
    const seen = await this.dedup.seen(candidateIds);
    const inBatch = new Set<string>();

    const results: ingestV1.EventResult[] = [];
    const accepted: ingestV1.ActivityEvent[] = [];
    const rejected: { event: ingestV1.ActivityEvent; reason: ingestV1.RejectionReason; message: string; field: string }[] = [];
    validations.forEach((v, index) => {
      const eventId = v.event.eventId;
      if (!v.ok) {
        rejected.push(v);
        results.push({ index, eventId, status: EventStatus.EVENT_STATUS_REJECTED, reason: v.reason, message: v.message, field: v.field });
      } else if (seen.has(eventId) || inBatch.has(eventId)) {
        results.push({
          index,
          eventId,
          status: EventStatus.EVENT_STATUS_DUPLICATE,
          reason: RejectionReason.REJECTION_REASON_DUPLICATE,
          message: 'an event with this event_id was already accepted',
          field: 'event_id',
        });
      } else {
        inBatch.add(eventId);
        accepted.push(v.event);
        results.push({
          index,
          eventId,
          status: EventStatus.EVENT_STATUS_ACCEPTED,
          reason: RejectionReason.REJECTION_REASON_UNSPECIFIED,
          message: '',
          field: '',
        });
      }
    });
    return { results, accepted, rejected };
  }

  private checkBatch(events: readonly unknown[], context: BatchContext): void {
    if (events.length === 0) throw grpcErrors.invalidArgument('events', 'at least one event is required');
    if (events.length > this.config.INGEST_MAX_BATCH_EVENTS) {
      throw grpcErrors.invalidArgument(
        'events',
        `${events.length} events exceed the limit of ${this.config.INGEST_MAX_BATCH_EVENTS} per call`,
      );
    }
    if (context.clientId.length > 64) throw grpcErrors.invalidArgument('client_id', 'exceeds 64 characters');
  }
}
