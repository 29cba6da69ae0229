import type { TopicDefinition } from '@pulse/contracts';

/** Connection settings shared by every Kafka client of a service. */
export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  /** Per-request timeout in ms. */
  requestTimeoutMs?: number;
}

export interface OutgoingRecord<K, V> {
  key: K;
  /** `null` writes a tombstone. */
  value: V | null;
  headers?: Record<string, string>;
  /** Record timestamp in ms since the epoch; the broker's time when absent. */
  timestampMs?: number;
}

export interface IncomingRecord<K, V> {
  topic: string;
  partition: number;
  offset: bigint;
  timestampMs: number;
  key: K | null;
  /** `null` for a tombstone. */
  value: V | null;
  headers: Record<string, string>;
}

/**
 * The platform's producer: idempotent, acks=all, retried. `send` resolves only once every
 * record is durable on the broker (all in-sync replicas), so a caller may acknowledge its own client then.
 * Records of one key keep their order (same partition, idempotent sequence numbers).
 */
export interface EventProducer {
  send<K, V>(topic: TopicDefinition<K, V>, records: readonly OutgoingRecord<K, V>[]): Promise<void>;
  /** Sends to several topics in one produce round; all-or-error, like `send`. */
  sendMany(batches: readonly TopicBatch[]): Promise<void>;
  close(): Promise<void>;
}

export interface TopicBatch<K = any, V = any> {
  topic: TopicDefinition<K, V>;
  records: readonly OutgoingRecord<K, V>[];
}

export interface ConsumeOptions {
  groupId: string;
  /**
   * Where a group without committed offsets starts; or, given explicit next offsets per partition
   * (index = partition, as `KafkaAdmin.endOffsets` returns them), exactly there.
   */
  from: 'earliest' | 'latest' | { offsets: readonly bigint[] };
  /** Max records handed to the handler at once. */
  maxBatchSize?: number;
  /**
   * How long to keep collecting records for a batch after its first one arrived, until `maxBatchSize`
   * (a processing-time trigger, like Spark's). 0 (default): hand over what is already fetched at once.
   */
  maxBatchWaitMs?: number;
}

/**
 * A consumer group member. The handler gets records in partition order; offsets are committed only
 * after it resolves (at-least-once). A handler that throws stops the consumer with that error.
 */
export interface EventConsumer<K, V> {
  run(handler: (batch: IncomingRecord<K, V>[]) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export interface KafkaAdmin {
  /** Creates the topics that do not exist yet, with their partitions and configs; leaves existing ones alone. */
  ensureTopics(topics: readonly TopicDefinition<any, any>[]): Promise<void>;
  deleteTopics(names: readonly string[]): Promise<void>;
  /** Latest offset (next to be written) of every partition of a topic. */
  endOffsets(topic: string): Promise<bigint[]>;
  /**
   * Sets a consumer group's committed offsets on a topic (index = partition, or only the partitions of
   * a map), like `kafka-consumer-groups --reset-offsets`; the group must have no active member.
   */
  setGroupOffsets(groupId: string, topic: string, offsets: readonly bigint[] | ReadonlyMap<number, bigint>): Promise<void>;
  /** Throws when the cluster does not answer a metadata request. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Everything a service needs from Kafka; no service imports a Kafka client package directly. */
export interface KafkaClient {
  readonly producer: EventProducer;
  readonly admin: KafkaAdmin;
  consumer<K, V>(topics: readonly TopicDefinition<K, V>[], options: ConsumeOptions): EventConsumer<K, V>;
  close(): Promise<void>;
}
