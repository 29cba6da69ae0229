import type { TopicDefinition } from '@pulse/contracts';

/** Connection settings shared by every Kafka client of a service. */
export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  /** Per-request timeout in ms. */
  requestTimeoutMs?: number;
  /** Replication factor of the topics `ensureTopics` creates; the broker's default when absent. */
  replicationFactor?: number;
  /** `min.insync.replicas` of the topics `ensureTopics` creates (wins over a topic's own); the topic's or the broker's when absent. */
  minInsyncReplicas?: number;
  /**
   * How long the producer retries a record that is not yet durable before `send` fails (Java's
   * delivery.timeout.ms); 5 quick retries when absent.
   */
  deliveryTimeoutMs?: number;
  /** SASL authentication (a SASL_SSL or SASL_PLAINTEXT listener); absent: none. */
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string };
  /** TLS towards the brokers: the CA to trust (absent: the system's), a client certificate for mTLS; absent: plaintext. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

export interface OutgoingRecord<K, V> {
  key: K;
  /** `null` writes a tombstone. */
  value: V | null;
  headers?: Record<string, string>;
  /** Record timestamp in ms since the epoch; the broker's time when absent. */
  timestampMs?: number;
  /**
   * The headers of the consumed record this one is derived from (a window update from the event that changed it):
   * while tracing is on, this record joins that record's trace, as a child of the span of its handling, instead of
   * the send's trace. Sent inside the consumer's handler; otherwise, and for an untraced source, the send's trace.
   */
  derivedFrom?: Record<string, string>;
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
  /** The key and value bytes as read from Kafka (what a dead letter carries); absent on records built in code. */
  raw?: RawBytes;
}

export interface RawBytes {
  key: Buffer | null;
  value: Buffer | null;
}

/** Where a record sits in Kafka. */
export interface RecordPosition {
  topic: string;
  partition: number;
  offset: bigint;
}

/** A record whose key or value its topic's codec could not decode (a poison record): its bytes and the error. */
export interface UndecodableRecord extends RecordPosition {
  timestampMs: number;
  headers: Record<string, string>;
  raw: RawBytes;
  error: Error;
}

/**
 * What a consumer hands over per batch: the decoded records in partition order, and the records of the
 * same batch that could not be decoded. Both are committed past once the handler resolves.
 */
export type BatchHandler<K, V> = (records: IncomingRecord<K, V>[], undecodable: UndecodableRecord[]) => Promise<void>;

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
 * after it resolves (at-least-once). A handler that throws stops the consumer with that error. Records
 * that cannot be decoded are handed over apart, never thrown: a handler that ignores them commits past
 * them, so services consume through `superviseConsumer`, which dead-letters them.
 */
export interface EventConsumer<K, V> {
  readonly groupId: string;
  run(handler: BatchHandler<K, V>): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumerGroupDescription {
  groupId: string;
  /** Kafka's group state: `STABLE`, `EMPTY`, `PREPARING_REBALANCE`, ... */
  state: string;
  /** Topics its members subscribe to or are assigned, sorted; empty for a group without members. */
  topics: string[];
}

export interface KafkaAdmin {
  /** Creates the topics that do not exist yet, with their partitions and configs; leaves existing ones alone. */
  ensureTopics(topics: readonly TopicDefinition<any, any>[]): Promise<void>;
  deleteTopics(names: readonly string[]): Promise<void>;
  /**
   * A topic's effective configs (its own, else the broker's defaults), e.g. `max.message.bytes`; names the
   * topic does not have are absent from the answer.
   */
  topicConfigs(topic: string, names: readonly string[]): Promise<Record<string, string>>;
  /** Names of the topics of the cluster. */
  listTopics(): Promise<string[]>;
  /** Latest offset (next to be written) of every partition of a topic. */
  endOffsets(topic: string): Promise<bigint[]>;
  /** Earliest offset still kept (after retention) of every partition of a topic. */
  startOffsets(topic: string): Promise<bigint[]>;
  /**
   * Sets a consumer group's committed offsets on a topic (index = partition, or only the partitions of
   * a map), like `kafka-consumer-groups --reset-offsets`; the group must have no active member.
   */
  setGroupOffsets(groupId: string, topic: string, offsets: readonly bigint[] | ReadonlyMap<number, bigint>): Promise<void>;
  /**
   * The consumer groups of the cluster with their state and the topics their members read (subscriptions and
   * assignments), like `kafka-consumer-groups --describe --all-groups`.
   */
  consumerGroups(): Promise<ConsumerGroupDescription[]>;
  /** Throws when the cluster does not answer a metadata request. */
  ping(): Promise<void>;
  /**
   * The cluster's id (`cluster.id`, set when its storage was formatted): offsets mean something only on the cluster
   * that gave them, so a consumer keeping its own offsets keys them by it (a mirrored cluster has other offsets).
   */
  clusterId(): Promise<string>;
  close(): Promise<void>;
}

/** Everything a service needs from Kafka; no service imports a Kafka client package directly. */
export interface KafkaClient {
  readonly producer: EventProducer;
  readonly admin: KafkaAdmin;
  consumer<K, V>(topics: readonly TopicDefinition<K, V>[], options: ConsumeOptions): EventConsumer<K, V>;
  close(): Promise<void>;
}
