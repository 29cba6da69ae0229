import { deadLetterTopic, type TopicDefinition } from '@pulse/contracts';
import type { IncomingRecord, KafkaClient, OutgoingRecord, RawBytes, RecordPosition } from './kafka.types';

/**
 * Headers of a dead letter, in Kafka Connect's style (`__connect.errors.*`): where the record was read
 * and why it failed. The source record's own headers are kept beside them.
 */
export const DeadLetterHeaders = {
  topic: '__pulse.errors.topic',
  partition: '__pulse.errors.partition',
  offset: '__pulse.errors.offset',
  timestamp: '__pulse.errors.timestamp',
  group: '__pulse.errors.group',
  /** `decode` (the bytes do not fit the topic's codec) or `handle` (the handler failed for good). */
  stage: '__pulse.errors.stage',
  exceptionClass: '__pulse.errors.exception.class.name',
  exceptionMessage: '__pulse.errors.exception.message',
  attempts: '__pulse.errors.attempts',
  failedAt: '__pulse.errors.failed_at',
} as const;

/** The header a replayed record carries: the source position of the dead letter it came from. */
export const REPLAYED_FROM_HEADER = '__pulse.replayed.from';

export type DeadLetterStage = 'decode' | 'handle';

/** A record that a consumer group gives up on, with what it knows of the failure. */
export interface DeadLetter extends RecordPosition {
  timestampMs: number;
  headers: Record<string, string>;
  raw: RawBytes;
  group: string;
  stage: DeadLetterStage;
  error: unknown;
  /** Times the handling was tried (1 for a record that could not be decoded). */
  attempts: number;
}

/** A dead letter as read back from its topic. */
export interface StoredDeadLetter extends RecordPosition {
  timestampMs: number;
  group: string;
  stage: string;
  exceptionClass: string;
  exceptionMessage: string;
  attempts: number;
  failedAtMs: number;
  /** The source record's own headers (without the `__pulse.errors.*` ones). */
  headers: Record<string, string>;
  key: Buffer | null;
  value: Buffer | null;
  /** Where the dead letter itself sits. */
  at: RecordPosition;
}

/** `topic/partition/offset`: the identity of a source record, shared by every copy of its dead letter. */
export function positionId(position: RecordPosition): string {
  return `${position.topic}/${position.partition}/${position.offset}`;
}

/** The record written to the dead-letter topic: the original bytes, the source's headers and the error's. */
export function deadLetterRecord(letter: DeadLetter, now = Date.now()): OutgoingRecord<Buffer, Buffer> {
  const error = letter.error;
  const exceptionClass = error instanceof Error ? error.name || error.constructor.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return {
    key: letter.raw.key ?? Buffer.alloc(0),
    value: letter.raw.value,
    headers: {
      ...letter.headers,
      [DeadLetterHeaders.topic]: letter.topic,
      [DeadLetterHeaders.partition]: String(letter.partition),
      [DeadLetterHeaders.offset]: String(letter.offset),
      [DeadLetterHeaders.timestamp]: String(letter.timestampMs),
      [DeadLetterHeaders.group]: letter.group,
      [DeadLetterHeaders.stage]: letter.stage,
      [DeadLetterHeaders.exceptionClass]: exceptionClass,
      // Headers are not for payloads: a message past 4 KiB is cut (the record itself is intact).
      [DeadLetterHeaders.exceptionMessage]: message.length > 4096 ? `${message.slice(0, 4096)}…` : message,
      [DeadLetterHeaders.attempts]: String(letter.attempts),
      [DeadLetterHeaders.failedAt]: String(now),
    },
  };
}

/** Reads a record of a dead-letter topic back; null for a record without the source headers. */
export function readDeadLetter(record: IncomingRecord<Buffer, Buffer>): StoredDeadLetter | null {
  const h = record.headers;
  const topic = h[DeadLetterHeaders.topic];
  const partition = Number(h[DeadLetterHeaders.partition]);
  const offset = h[DeadLetterHeaders.offset];
  if (topic === undefined || !Number.isInteger(partition) || offset === undefined || !/^\d+$/.test(offset)) return null;
  const own: Record<string, string> = {};
  for (const [name, value] of Object.entries(h)) if (!name.startsWith('__pulse.errors.')) own[name] = value;
  return {
    topic,
    partition,
    offset: BigInt(offset),
    timestampMs: Number(h[DeadLetterHeaders.timestamp] ?? 0),
    group: h[DeadLetterHeaders.group] ?? '',
    stage: h[DeadLetterHeaders.stage] ?? '',
    exceptionClass: h[DeadLetterHeaders.exceptionClass] ?? '',
    exceptionMessage: h[DeadLetterHeaders.exceptionMessage] ?? '',
    attempts: Number(h[DeadLetterHeaders.attempts] ?? 0),
    failedAtMs: Number(h[DeadLetterHeaders.failedAt] ?? 0),
    headers: own,
    key: record.key && record.key.length > 0 ? record.key : null,
    value: record.value,
    at: { topic: record.topic, partition: record.partition, offset: record.offset },
  };
}

/** Writes a consumer group's dead letters; its topic is created with the first one. */
export class DeadLetterPublisher {
  readonly topic: TopicDefinition<Buffer, Buffer>;
  private ensured = false;

  constructor(
    private readonly kafka: Pick<KafkaClient, 'producer' | 'admin'>,
    readonly group: string,
  ) {
    this.topic = deadLetterTopic(group);
  }

  /** Resolves once every letter is durable on the dead-letter topic (acks=all). */
  async publish(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    if (!this.ensured) {
      await this.kafka.admin.ensureTopics([this.topic]);
      this.ensured = true;
    }
    const now = Date.now();
    await this.kafka.producer.send(
      this.topic,
      letters.map((l) => deadLetterRecord(l, now)),
    );
  }
}
