import { status } from '@grpc/grpc-js';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { bytesCodec, ingestV1, type TopicDefinition, Topics } from '@pulse/contracts';
import {
  chunkBySize,
  grpcErrors,
  GrpcStatusError,
  isRetriableKafkaError,
  KAFKA_CLIENT,
  kafkaErrorMessage,
  type KafkaClient,
  LOGGER,
  type Logger,
  ServiceMetrics,
  type TopicBatch,
} from '@pulse/platform';
import { randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import { INGEST_CONFIG, type IngestConfig } from '../config/ingest.config';
import { EventDedupRepository } from './event-dedup.redis.repository';
import { isPlainEvent } from './event-bytes';
import { type Validation, validateEvent } from './event-validator';
import { PiiAnonymizer } from './pii-anonymizer';
import { BATCH_MARGIN_BYTES, cutDown, largestField, RECORD_OVERHEAD_BYTES, trackedRecordBytes } from './record-size';

const { EventStatus, RejectionReason } = ingestV1;
const SCHEMA_VERSION = 1;
/** Kafka's default max.message.bytes, assumed when the topics' own cannot be read. */
const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
/** Bound of what an ActivityTracked record holds beside its event (received_at, ingest metadata). */
const TRACKED_ENVELOPE_BYTES = 256;

/** The tracked and rejected topics with values already encoded (each record is measured before it is sent). */
const trackedBytes: TopicDefinition<string, Buffer> = { ...Topics.activityTracked, value: bytesCodec };
const rejectedBytes: TopicDefinition<string, Buffer> = { ...Topics.activityRejected, value: bytesCodec };

type SizedValidation = Exclude<Validation, { ok: true }> | { ok: true; event: ingestV1.ActivityEvent; bytes: Uint8Array };

interface SizedRecord {
  topic: TopicDefinition<string, Buffer>;
  key: string;
  value: Buffer;
}

export interface BatchContext {
  /** The response lists only the events that were not accepted (TrackEventsRequest.omit_accepted_results). */
  omitAcceptedResults?: boolean;
  /** Stamped on every event as IngestMetadata.client_id: the caller's principal (or the request's, with auth off). */
  clientId: string;
  /** Whether clientId came from the request (checked like any field) rather than from the principal. */
  clientIdFromRequest: boolean;
  sourceIp: string;
}

/** How often a call waiting for an earlier call's events looks again. */
const PENDING_POLL_MS = 50;

/** Event ids named in the log line of a TrackEvents call (the rest are counted). */
const LOGGED_EVENT_IDS = 20;

/**
 * Validates, deduplicates and records a batch of activity events: accepted ones to
 * pulse.activity.tracked.v1 (keyed by user, so each user's events keep their order), rejected ones to
 * pulse.activity.rejected.v1 with the reason. Answers only after Kafka acknowledged every record (acks=all).
 */
@Injectable()
export class TrackEventsService implements OnModuleInit {
  private inFlight = 0;
  /** Effective size limits, set at start from the config and the topics' max.message.bytes. */
  private maxEventBytes: number;
  private maxProduceBytes: number;
  private readonly outcomes: Counter<'status' | 'reason'>;
  private readonly gaveWay: Counter;
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
    this.gaveWay = new Counter({
      name: 'ingest_calls_gave_way_total',
      help: 'TrackEvents calls answered UNAVAILABLE because an earlier call was still writing some of their events',
      registers: [metrics.registry],
    });
    this.maxEventBytes = config.INGEST_MAX_EVENT_BYTES;
    this.maxProduceBytes = config.INGEST_MAX_PRODUCE_BYTES;
  }

  /** Keeps each record, and each produce request, below what the topics accept (their max.message.bytes). */
  async onModuleInit() {
    let topicMax = KAFKA_DEFAULT_MAX_MESSAGE_BYTES;
    try {
      for (const topic of [Topics.activityTracked, Topics.activityRejected]) {
        const value = Number((await this.kafka.admin.topicConfigs(topic.name, ['max.message.bytes']))['max.message.bytes']);
        if (Number.isInteger(value) && value > 0) topicMax = Math.min(topicMax, value);
      }
    } catch (error) {
      this.logger.warn({ err: error, assumed: topicMax }, "could not read the topics' max.message.bytes; assuming Kafka's default");
    }
    this.maxProduceBytes = Math.min(this.config.INGEST_MAX_PRODUCE_BYTES, topicMax - BATCH_MARGIN_BYTES);
    this.maxEventBytes = Math.min(this.config.INGEST_MAX_EVENT_BYTES, this.maxProduceBytes);
    this.logger.info(
      { topicMaxMessageBytes: topicMax, maxEventBytes: this.maxEventBytes, maxProduceBytes: this.maxProduceBytes },
      'size limits',
    );
  }

  /** `eventBytes`: each event's bytes as the request carried them (eventBytesOf), written as they are when plain. */
  async track(events: readonly unknown[], context: BatchContext, eventBytes?: readonly Buffer[]): Promise<ingestV1.TrackEventsResponse> {
    this.checkBatch(events, context);
    if (this.inFlight + events.length > this.config.INGEST_MAX_IN_FLIGHT_EVENTS) {
      throw grpcErrors.resourceExhausted(
        `ingest is at its limit of ${this.config.INGEST_MAX_IN_FLIGHT_EVENTS} events in flight; retry with backoff`,
      );
    }
    this.inFlight += events.length;
    try {
      return await this.record(events, context, eventBytes);
    } finally {
      this.inFlight -= events.length;
    }
  }

  /** Same checks as `track` (including duplicates), nothing recorded. */
  async validate(events: readonly unknown[], context: BatchContext): Promise<ingestV1.ValidateEventsResponse> {
    this.checkBatch(events, context);
    const { results } = await this.classify(events, Date.now(), (ids) => this.dedup.seen(ids));
    return { results };
  }

  private async record(
    events: readonly unknown[],
    context: BatchContext,
    eventBytes?: readonly Buffer[],
  ): Promise<ingestV1.TrackEventsResponse> {
    const now = Date.now();
    const requestId = randomUUID();
    const ingest: ingestV1.IngestMetadata = {
      schemaVersion: SCHEMA_VERSION,
      sourceIp: this.anonymizer.ip(context.sourceIp),
      clientId: context.clientId,
      requestId,
    };
    const { results, accepted, rejected, candidateIds } = await this.classify(events, now, (ids) => this.claim(ids, requestId), eventBytes);
    try {
      await this.send(this.records(accepted, rejected, ingest, now), now, events.length);
    } catch (error) {
      // Nothing of the call counts as written: its events are free for the client's retry.
      await this.dedup.release(candidateIds, requestId);
      throw error;
    }
    await this.dedup.markAccepted(accepted.map((e) => e.event.eventId));

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
    // One line per call, with the first event ids in its message: an event is found by its id in the log store, and
    // from the line (its trace_id) the trace of the call.
    const ids = results.slice(0, LOGGED_EVENT_IDS).map((r) => (r.eventId.length > 128 ? `${r.eventId.slice(0, 128)}…` : r.eventId));
    const more = results.length > ids.length ? ` and ${results.length - ids.length} more` : '';
    this.logger.info(
      {
        request_id: ingest.requestId,
        client_id: ingest.clientId,
        accepted: acceptedCount,
        duplicate: duplicateCount,
        rejected: rejectedCount,
      },
      `TrackEvents: ${acceptedCount} accepted, ${duplicateCount} duplicate, ${rejectedCount} rejected; events ${ids.join(' ')}${more}`,
    );
    return {
      results: context.omitAcceptedResults ? results.filter((r) => r.status !== EventStatus.EVENT_STATUS_ACCEPTED) : results,
      acceptedCount,
      rejectedCount,
      duplicateCount,
    };
  }

  /** The call's records: accepted events to the tracked topic, rejected ones (with their reason) to the dead-letter topic. */
  private records(
    accepted: readonly { event: ingestV1.ActivityEvent; bytes: Uint8Array }[],
    rejected: readonly { event: ingestV1.ActivityEvent; reason: ingestV1.RejectionReason; message: string; field: string }[],
    ingest: ingestV1.IngestMetadata,
    now: number,
  ): SizedRecord[] {
    const receivedAt = { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 };
    // An ActivityTracked is its event (field 1) followed by fields 2 and 3, the same for the whole call: the
    // event bytes encoded once for the size check are framed, not encoded again.
    const envelope = Buffer.from(ingestV1.ActivityTracked.encode({ event: undefined, receivedAt, ingest }).finish());
    const records: SizedRecord[] = accepted.map(({ event, bytes }) => ({
      topic: trackedBytes,
      key: event.userId,
      value: trackedRecordBytes(bytes, envelope),
    }));
    for (const r of rejected) {
      const value: ingestV1.ActivityRejected = {
        event: encodableEvent(r.event),
        reason: r.reason,
        message: r.message,
        field: r.field,
        rejectedAt: receivedAt,
        ingest,
        originalSha256: '',
        originalSizeBytes: 0,
      };
      let bytes = ingestV1.ActivityRejected.encode(value).finish();
      // A dead letter over the limit keeps a cut-down event and the SHA-256 of the original.
      if (bytes.length + RECORD_OVERHEAD_BYTES + Buffer.byteLength(r.event.eventId) > this.maxEventBytes) {
        bytes = ingestV1.ActivityRejected.encode({ ...value, ...cutDown(r.event) }).finish();
      }
      records.push({ topic: rejectedBytes, key: r.event.eventId, value: Buffer.from(bytes) });
    }
    return records;
  }

  /**
   * Sends the records in produce requests that stay below the topics' limit, one after the other (so a user's
   * events keep their order); resolves once all are durable. UNAVAILABLE only when a retry can succeed.
   */
  private async send(records: SizedRecord[], now: number, events: number): Promise<void> {
    const size = (r: SizedRecord) => r.value.length + Buffer.byteLength(r.key) + RECORD_OVERHEAD_BYTES;
    try {
      for (const chunk of chunkBySize(records, size, this.maxProduceBytes)) {
        const batches: TopicBatch<string, Buffer>[] = [trackedBytes, rejectedBytes].map((topic) => ({
          topic,
          records: chunk.filter((r) => r.topic === topic).map((r) => ({ key: r.key, value: r.value, timestampMs: now })),
        }));
        await this.kafka.producer.sendMany(batches.filter((b) => b.records.length > 0));
      }
    } catch (error) {
      this.logger.error({ err: error, events }, 'could not make the batch durable');
      if (!isRetriableKafkaError(error)) {
        throw new GrpcStatusError(
          status.INTERNAL,
          `Kafka refused the events for good (${kafkaErrorMessage(error)}); a retry cannot succeed`,
        );
      }
      throw grpcErrors.unavailable(
        `events could not be written to Kafka (${kafkaErrorMessage(error)}); retry the batch with the same event_ids`,
      );
    }
  }

  /**
   * Claims the call's event ids; returns those accepted earlier. While an earlier call is still writing some of them (a
   * client's retry of a call stuck behind a Kafka outage), waits up to INGEST_DEDUP_PENDING_WAIT for it to finish, then
   * gives way: the call is answered UNAVAILABLE with nothing written, so no event is written twice.
   */
  private async claim(ids: readonly string[], requestId: string): Promise<Set<string>> {
    const deadline = Date.now() + this.config.INGEST_DEDUP_PENDING_WAIT;
    for (;;) {
      const { accepted, pending } = await this.dedup.claim(ids, requestId);
      if (pending.length === 0) return accepted;
      if (Date.now() >= deadline) {
        await this.dedup.release(ids, requestId);
        this.gaveWay.inc();
        throw grpcErrors.unavailable(
          `${pending.length} of these events (${pending[0]}${pending.length > 1 ? ', …' : ''}) are still being written by an earlier call; ` +
            'retry the batch with the same event_ids',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, PENDING_POLL_MS));
    }
  }

  private async classify(
    events: readonly unknown[],
    now: number,
    acceptedBefore: (ids: string[]) => Promise<Set<string>>,
    eventBytes?: readonly Buffer[],
  ) {
    const limits = { maxFutureSkewMs: this.config.INGEST_MAX_FUTURE_SKEW, maxPastSkewMs: this.config.INGEST_MAX_PAST_SKEW };
    const validations = events.map((raw, i) => {
      const validation = validateEvent(raw, now, limits);
      // Personal fields are anonymized once, after validation and before anything is measured or published: nothing
      // downstream sees them as sent. An event they changed is encoded again; any other keeps the bytes it came in.
      const event = this.anonymizer.event(validation.event);
      return this.checkSize({ ...validation, event }, event === validation.event ? eventBytes?.[i] : undefined);
    });
    const candidateIds = validations.filter((v) => v.ok).map((v) => v.event.eventId);
    const seen = await acceptedBefore(candidateIds);
    const inBatch = new Set<string>();

    const results: ingestV1.EventResult[] = [];
    const accepted: { event: ingestV1.ActivityEvent; bytes: Uint8Array }[] = [];
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
        accepted.push({ event: v.event, bytes: v.bytes });
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
    // candidateIds: the valid events' ids, which the lookup was asked about (and, for TrackEvents, claimed).
    return { results, accepted, rejected, candidateIds };
  }

  /**
   * A valid event whose record would exceed the size limit is rejected (TOO_LARGE, naming its largest field). `sent`:
   * the event's bytes in the request, kept when they say exactly what was validated (isPlainEvent), so the event is not
   * encoded again.
   */
  private checkSize(v: Validation, sent?: Buffer): SizedValidation {
    if (!v.ok) return v;
    const bytes = sent && isPlainEvent(sent) ? sent : ingestV1.ActivityEvent.encode(v.event).finish();
    const recordBytes = bytes.length + TRACKED_ENVELOPE_BYTES + Buffer.byteLength(v.event.userId) + RECORD_OVERHEAD_BYTES;
    if (recordBytes <= this.maxEventBytes) return { ...v, bytes };
    return {
      ok: false,
      event: v.event,
      reason: RejectionReason.REJECTION_REASON_TOO_LARGE,
      field: largestField(v.event),
      message: `the event takes ${recordBytes} bytes, over the limit of ${this.maxEventBytes}`,
    };
  }

  private checkBatch(events: readonly unknown[], context: BatchContext): void {
    if (events.length === 0) throw grpcErrors.invalidArgument('events', 'at least one event is required');
    if (events.length > this.config.INGEST_MAX_BATCH_EVENTS) {
      throw grpcErrors.invalidArgument(
        'events',
        `${events.length} events exceed the limit of ${this.config.INGEST_MAX_BATCH_EVENTS} per call`,
      );
    }
    if (context.clientIdFromRequest && context.clientId.length > 64) throw grpcErrors.invalidArgument('client_id', 'exceeds 64 characters');
  }
}

/**
 * A rejected event as the dead letter can hold it: an occurred_at whose seconds no int64 can carry (a number past
 * 2^53 once decoded) is left out — the rejection's message names the value — instead of failing the whole batch.
 */
function encodableEvent(event: ingestV1.ActivityEvent): ingestV1.ActivityEvent {
  if (!event.occurredAt || Number.isSafeInteger(event.occurredAt.seconds)) return event;
  return { ...event, occurredAt: undefined };
}
