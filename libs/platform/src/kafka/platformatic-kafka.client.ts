import {
  Admin,
  compatibilityPartitioner,
  ConfigResourceTypes,
  Consumer,
  type Message,
  type MessagesStream,
  ProduceAcks,
  Producer,
} from '@platformatic/kafka';
import type { TopicDefinition } from '@pulse/contracts';
import type { Logger } from '../logging/logger';
import { chunkBySize } from './chunk-by-size';
import { DecodeError } from './consumer-errors';
import type { ServiceMetrics } from '../metrics/metrics';
import { deliveryRetries, topicDurability } from './kafka-settings';
import { KafkaMetrics, type LagSource, type PartitionLag } from './kafka.metrics';
import { derivedTraceHeaders, tracedHandle, tracedSend } from './kafka-tracing';
import type {
  BatchHandler,
  ConsumeOptions,
  ConsumerGroupDescription,
  EventConsumer,
  EventProducer,
  IncomingRecord,
  KafkaAdmin,
  KafkaClient,
  KafkaSettings,
  OutgoingRecord,
  TopicBatch,
  UndecodableRecord,
} from './kafka.types';

/**
 * The Kafka client behind the platform's interface: @platformatic/kafka. Chosen by measurement
 * (docs/decisions/0003-kafka-client.md); swapping it touches only this file.
 */
export class PlatformaticKafkaClient implements KafkaClient {
  readonly producer: PlatformaticProducer;
  readonly admin: PlatformaticAdmin;
  private readonly consumers = new Set<PlatformaticConsumer<any, any>>();
  private readonly metrics?: KafkaMetrics;

  /** With `metrics`, the app's /metrics has records per topic and group and each consumer's lag (KafkaMetrics). */
  constructor(
    private readonly settings: KafkaSettings,
    private readonly logger?: Logger,
    metrics?: ServiceMetrics,
  ) {
    this.metrics = metrics && new KafkaMetrics(metrics, () => this.consumers);
    this.producer = new PlatformaticProducer(settings, this.metrics);
    this.admin = new PlatformaticAdmin(settings);
  }

  consumer<K, V>(topics: readonly TopicDefinition<K, V>[], options: ConsumeOptions): EventConsumer<K, V> {
    const consumer = new PlatformaticConsumer<K, V>(this.settings, topics, options, () => this.consumers.delete(consumer), this.metrics);
    this.consumers.add(consumer);
    return consumer;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.consumers].map((c) => c.close()));
    const results = await Promise.allSettled([this.producer.close(), this.admin.close()]);
    for (const r of results) {
      if (r.status === 'rejected') this.logger?.warn({ err: r.reason }, 'kafka client did not close cleanly');
    }
  }
}

function baseOptions(settings: KafkaSettings, role: string) {
  return {
    clientId: `${settings.clientId}-${role}`,
    bootstrapBrokers: settings.brokers,
    timeout: settings.requestTimeoutMs ?? 30_000,
    retries: 5,
    retryDelay: 250,
    autocreateTopics: false,
    ...(settings.sasl && { sasl: { ...settings.sasl } }),
    ...(settings.tls && { tls: { ...settings.tls } }),
  };
}

type ProduceMessage = ReturnType<typeof toMessage>;

/** A send waiting for its turn: its messages and its caller's promise. */
interface PendingSend {
  messages: ProduceMessage[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The platform's producer over the client's idempotent one, with one produce request in flight at a time (the Java
 * producer's `max.in.flight.requests.per.connection=1`): sends made while a request is in flight wait and go together
 * in the next one, in the order they were made. The client keeps one producer id and one sequence counter per
 * partition for all its sends; concurrent sends let a failed one reset them while another still held the old producer
 * id, which then reused sequence numbers the broker had already written: the broker answered that batch as a duplicate
 * and its records were acknowledged but never written (found by tools/chaos after a broker restart). One request at a
 * time keeps every retry in sequence order; coalescing keeps the throughput.
 */
class PlatformaticProducer implements EventProducer {
  private readonly producer: Producer;
  private readonly pending: PendingSend[] = [];
  private flushing = false;
  private readonly deliveryTimeoutMs: number;
  /** Back-off between the sends of one request (100 ms doubling to 1 s). */
  private readonly retryDelay: (attempt: number) => number;

  constructor(
    settings: KafkaSettings,
    private readonly metrics?: KafkaMetrics,
  ) {
    this.producer = new Producer({
      // The client's own retries (a few, keeping the batch's sequence numbers, so the broker drops a retried record
      // it already has) are short: it sends a request's records to the leader of its first partition only, so when
      // leaders moved apart (a broker's return, a preferred-leader election) its retries cannot succeed. Past them,
      // `request` sends again with fresh leaders until the delivery timeout.
      ...baseOptions(settings, 'producer'),
      idempotent: true,
      acks: ProduceAcks.ALL,
      // Kafka's Java partitioner (positive murmur2), so keys land where Java producers put them.
      partitioner: compatibilityPartitioner,
    });
    this.deliveryTimeoutMs = settings.deliveryTimeoutMs ?? 0;
    this.retryDelay = deliveryRetries(Math.max(this.deliveryTimeoutMs, 1)).retryDelay;
  }

  send<K, V>(topic: TopicDefinition<K, V>, records: readonly OutgoingRecord<K, V>[]): Promise<void> {
    return this.sendMany([{ topic, records }]);
  }

  async sendMany(batches: readonly TopicBatch[]): Promise<void> {
    const count = batches.reduce((n, b) => n + b.records.length, 0);
    if (count === 0) return;
    // Each record carries the W3C trace context of the send (`traceparent` header) while tracing is on.
    await tracedSend(
      batches.filter((b) => b.records.length > 0).map((b) => b.topic.name),
      count,
      (traceHeaders) => {
        const messages: ProduceMessage[] = [];
        // The trace context is the same for every record of the send: its header bytes are made once, and records
        // without headers of their own share one map of them (the client only reads it), not a map and buffers each.
        const trace = new Map(Object.entries(traceHeaders).map(([name, value]) => [Buffer.from(name), Buffer.from(value)]));
        for (const { topic, records } of batches) {
          for (const record of records) messages.push(toMessage(topic, record, trace));
        }
        return new Promise<void>((resolve, reject) => {
          this.pending.push({ messages, resolve, reject });
          if (!this.flushing) void this.flush();
        });
      },
    );
    if (this.metrics) for (const { topic, records } of batches) if (records.length > 0) this.metrics.produced(topic.name, records.length);
  }

  /**
   * Sends what waits, one request after the other, until nothing waits. A request holds at most MAX_REQUEST_BYTES (a
   * partition's batch stays under the broker's message.max.bytes, 1 MiB by default): a send resolves once every request
   * holding its messages succeeded; when one fails, the sends of that request and after it are refused (their
   * callers retry them; a record written by the failed request is then written again, as any retried send may be).
   */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const sends = this.pending.splice(0);
        const messages = sends.flatMap((s) => s.messages);
        // Where each send's messages end in `messages`.
        const ends: number[] = [];
        for (const s of sends) ends.push((ends.at(-1) ?? 0) + s.messages.length);
        let done = 0;
        let next = 0;
        try {
          for (const slice of chunkBySize(messages, messageBytes, MAX_REQUEST_BYTES)) {
            await this.request(slice);
            done += slice.length;
            while (next < sends.length && ends[next] <= done) sends[next++].resolve();
          }
        } catch (error) {
          for (; next < sends.length; next++) sends[next].reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * One produce request, sent again while its error is transient, up to the delivery timeout (Java's
   * delivery.timeout.ms; back-off 100 ms doubling to 1 s). A request sent again after the client gave up has a new
   * producer id: records the failed one wrote are written again (at least once, as the client's answer said nothing
   * was written).
   */
  private async request(messages: ProduceMessage[]): Promise<void> {
    const deadline = Date.now() + this.deliveryTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.producer.send({ messages });
        return;
      } catch (error) {
        const delay = this.retryDelay(attempt);
        if (!isRetriableKafkaError(error) || Date.now() + delay > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async close(): Promise<void> {
    await this.producer.close();
  }
}

/**
 * Bytes of records per produce request: below the broker's default message.max.bytes (1 MiB) with room for the
 * record batch's own overhead. Topics created by Pulse keep that default.
 */
export const MAX_REQUEST_BYTES = 900 * 1024;

/** About what a message takes in a record batch: its key, value and headers, plus the record's own fields. */
function messageBytes(message: { key?: Buffer | string; value?: Buffer | string; headers?: Map<Buffer, Buffer> }): number {
  let n = 32 + (message.key?.length ?? 0) + (message.value?.length ?? 0);
  if (message.headers) for (const [name, value] of message.headers) n += name.length + value.length + 8;
  return n;
}

function toMessage<K, V>(topic: TopicDefinition<K, V>, record: OutgoingRecord<K, V>, sendTrace: ReadonlyMap<Buffer, Buffer>) {
  let headers: Map<Buffer, Buffer> | undefined;
  // A record derived from a consumed one joins that record's trace when it has one (see OutgoingRecord.derivedFrom).
  const derived = record.derivedFrom ? derivedTraceHeaders(record.derivedFrom) : undefined;
  const trace = derived ? new Map(Object.entries(derived).map(([name, value]) => [Buffer.from(name), Buffer.from(value)])) : sendTrace;
  if (record.headers) {
    headers = new Map();
    // The send's trace context replaces a `traceparent` the record may carry.
    for (const [name, value] of Object.entries(record.headers))
      if (!(trace.size > 0 && name in TRACE_HEADER_NAMES)) headers.set(Buffer.from(name), Buffer.from(value));
    for (const [name, value] of trace) headers.set(name, value);
  } else if (trace.size > 0) headers = trace as Map<Buffer, Buffer>;
  return {
    topic: topic.name,
    key: topic.key.encode(record.key),
    // A tombstone is a record without a value.
    value: record.value === null ? undefined : topic.value.encode(record.value),
    headers,
    timestamp: record.timestampMs === undefined ? undefined : BigInt(record.timestampMs),
  };
}

/** The W3C trace context headers a send sets on its records. */
const TRACE_HEADER_NAMES: Record<string, true> = { traceparent: true, tracestate: true };

/** The innermost messages of a client error (its errors nest as AggregateErrors). */
export function kafkaErrorMessage(error: unknown): string {
  const leaves = new Set<string>();
  const visit = (e: unknown) => {
    const nested = (e as { errors?: unknown[] })?.errors;
    if (Array.isArray(nested) && nested.length > 0) nested.forEach(visit);
    else leaves.add(e instanceof Error ? e.message : String(e));
  };
  visit(error);
  return [...leaves].join('; ');
}

/** Whether the broker refused a CreateTopics because the topic exists (TOPIC_ALREADY_EXISTS, error code 36). */
export function isTopicAlreadyExists(error: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (e: unknown): boolean => {
    if (!e || typeof e !== 'object' || seen.has(e)) return false;
    seen.add(e);
    const { apiCode, errors, cause, message } = e as { apiCode?: unknown; errors?: unknown[]; cause?: unknown; message?: unknown };
    if (apiCode === 36 || (typeof message === 'string' && /topic with this name already exists/i.test(message))) return true;
    return (Array.isArray(errors) && errors.some(visit)) || visit(cause);
  };
  return visit(error);
}

/**
 * Client-side failures the Kafka client does not retry on its own (a request that timed out may have been written;
 * a connection that broke mid-response) but a caller may: the write is repeated with the same ids and deduplicated.
 */
const TRANSIENT_CLIENT_ERRORS = new Set([
  'PLT_KFK_NETWORK',
  'PLT_KFK_TIMEOUT',
  'PLT_KFK_UNEXPECTED_CORRELATION_ID',
  'PLT_KFK_UNFINISHED_WRITE_BUFFER',
]);

/**
 * Whether retrying may fix what the client reports: false when the broker said the request can never
 * succeed as it is (a record over max.message.bytes, an invalid topic, a denied access), or the client refused it
 * (an invalid argument, an unsupported feature, failed authentication). A timeout or a broken connection is retriable.
 */
export function isRetriableKafkaError(error: unknown): boolean {
  let retriable = true;
  const visit = (e: unknown) => {
    const nested = (e as { errors?: unknown[] })?.errors;
    if (Array.isArray(nested) && nested.length > 0) nested.forEach(visit);
    else {
      const { canRetry, code } = (e ?? {}) as { canRetry?: unknown; code?: unknown };
      if (canRetry === false && !(typeof code === 'string' && TRANSIENT_CLIENT_ERRORS.has(code))) retriable = false;
    }
  };
  visit(error);
  return retriable;
}

class PlatformaticAdmin implements KafkaAdmin {
  private readonly admin: Admin;

  constructor(private readonly settings: KafkaSettings) {
    this.admin = new Admin(baseOptions(settings, 'admin'));
  }

  async ensureTopics(topics: readonly TopicDefinition<any, any>[]): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    for (const topic of topics) {
      if (existing.has(topic.name)) continue;
      // RF and min ISR from the settings (KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS), else the broker's defaults.
      const { replicas, configs } = topicDurability(this.settings, topic.config);
      try {
        await this.admin.createTopics({
          topics: [topic.name],
          partitions: topic.partitions,
          replicas,
          configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
        });
      } catch (error) {
        // Another replica (or service) created it between the listing and now: the broker says so, and a broker other
        // than the controller may not list it yet.
        if (isTopicAlreadyExists(error) || (await this.admin.listTopics()).includes(topic.name)) continue;
        throw error;
      }
    }
  }

  async deleteTopics(names: readonly string[]): Promise<void> {
    if (names.length > 0) await this.admin.deleteTopics({ topics: [...names] });
  }

  async topicConfigs(topic: string, names: readonly string[]): Promise<Record<string, string>> {
    const [description] = await this.admin.describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: [...names] }],
    });
    const out: Record<string, string> = {};
    for (const c of description?.configs ?? []) if (c.value !== null && c.value !== undefined) out[c.name] = c.value;
    return out;
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  endOffsets(topic: string): Promise<bigint[]> {
    return this.offsets(topic, -1n);
  }

  startOffsets(topic: string): Promise<bigint[]> {
    return this.offsets(topic, -2n);
  }

  /** ListOffsets at a timestamp: -1 = latest, -2 = earliest (Kafka's sentinels). */
  private async offsets(topic: string, timestamp: bigint): Promise<bigint[]> {
    const probe = new Consumer({ ...baseOptions(this.settings, 'offsets'), groupId: `${this.settings.clientId}-offsets` });
    try {
      const offsets = await probe.listOffsets({ topics: [topic], timestamp });
      return offsets.get(topic) ?? [];
    } finally {
      await probe.close();
    }
  }

  async setGroupOffsets(groupId: string, topic: string, offsets: readonly bigint[] | ReadonlyMap<number, bigint>): Promise<void> {
    const entries: [number, bigint][] = Array.isArray(offsets)
      ? offsets.map((offset, partition) => [partition, offset])
      : [...(offsets as ReadonlyMap<number, bigint>).entries()];
    if (entries.length === 0) return;
    await this.admin.alterConsumerGroupOffsets({
      groupId,
      topics: [{ name: topic, partitionOffsets: entries.map(([partition, offset]) => ({ partition, offset })) }],
    });
  }

  async consumerGroups(): Promise<ConsumerGroupDescription[]> {
    const ids = [...(await this.admin.listGroups()).keys()];
    if (ids.length === 0) return [];
    const described = await this.admin.describeGroups({ groups: ids });
    return [...described.values()]
      .map((group) => {
        const topics = new Set<string>();
        for (const member of group.members.values()) {
          for (const topic of member.metadata?.topics ?? []) topics.add(topic);
          for (const topic of member.assignments?.keys() ?? []) topics.add(topic);
        }
        return { groupId: group.id, state: String(group.state), topics: [...topics].sort() };
      })
      .sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  async ping(): Promise<void> {
    await this.admin.metadata({ topics: [], forceUpdate: true });
  }

  async clusterId(): Promise<string> {
    const { id } = await this.admin.metadata({ topics: [] });
    if (!id) throw new Error('the cluster did not give its id');
    return id;
  }

  async close(): Promise<void> {
    await this.admin.close();
  }
}

/** A batch as read from the stream: its messages (for the commit) and their records. */
interface ReadBatch<K, V> {
  messages: Message<Buffer, Buffer, Buffer, Buffer>[];
  records: IncomingRecord<K, V>[];
  undecodable: UndecodableRecord[];
  /** The stream ended after these messages. */
  ended: boolean;
}

class PlatformaticConsumer<K, V> implements EventConsumer<K, V>, LagSource {
  private readonly consumer: Consumer;
  private stream?: MessagesStream<Buffer, Buffer, Buffer, Buffer>;
  private closed = false;
  private readonly decoders: Map<string, TopicDefinition<K, V>>;
  readonly groupId: string;

  constructor(
    settings: KafkaSettings,
    private readonly topics: readonly TopicDefinition<K, V>[],
    private readonly options: ConsumeOptions,
    private readonly onClose: () => void,
    private readonly metrics?: KafkaMetrics,
  ) {
    this.decoders = new Map(topics.map((t) => [t.name, t]));
    this.groupId = options.groupId;
    this.consumer = new Consumer({
      ...baseOptions(settings, `consumer-${options.groupId}`),
      groupId: options.groupId,
      autocommit: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTime: 500,
      // Fetch ahead while a batch is handled: up to one batch more than the client's default of 1024.
      highWaterMark: Math.max(1024, options.maxBatchSize ?? 500),
      // Kafka's Java default (max.partition.fetch.bytes): a fetch takes at most 1 MiB from each partition, so
      // a backlog on one partition cannot fill a batch alone (event-time streams see partitions advance evenly).
      maxBytesPerPartition: 1_048_576,
    });
  }

  async run(handler: BatchHandler<K, V>): Promise<void> {
    const topics = this.topics.map((t) => t.name);
    const from = this.options.from;
    const stream = await this.consumer.consume(
      typeof from === 'string'
        ? { topics, mode: 'committed', fallbackMode: from }
        : {
            topics,
            mode: 'manual',
            offsets: topics.flatMap((topic) => from.offsets.map((offset, partition) => ({ topic, partition, offset }))),
          },
    );
    this.stream = stream;
    const max = this.options.maxBatchSize ?? 500;
    const waitMs = this.options.maxBatchWaitMs ?? 0;
    const iterator = stream[Symbol.asyncIterator]();
    // A read that outlived a batch's wait is kept for the next batch, never dropped.
    let pending: Promise<IteratorResult<Message<Buffer, Buffer, Buffer, Buffer>>> | undefined;
    const read = () => (pending ??= iterator.next());
    const TIMEOUT = Symbol('timeout');
    /** The next batch, read and decoded; null when the stream ended before it. */
    const nextBatch = async (): Promise<ReadBatch<K, V> | null> => {
      const first = await read();
      pending = undefined;
      if (first.done) return null;
      const messages: Message<Buffer, Buffer, Buffer, Buffer>[] = [first.value];
      const deadline = Date.now() + waitMs;
      let ended = false;
      while (messages.length < max) {
        if (stream.readableLength === 0) {
          const remaining = deadline - Date.now();
          if (remaining <= 0) break;
          let timer: NodeJS.Timeout | undefined;
          const next = await Promise.race([read(), new Promise<typeof TIMEOUT>((r) => (timer = setTimeout(() => r(TIMEOUT), remaining)))]);
          clearTimeout(timer);
          if (next === TIMEOUT) break;
          pending = undefined;
          if (next.done) {
            ended = true;
            break;
          }
          messages.push(next.value);
          continue;
        }
        // What the stream holds already is taken without a promise a message (the async iterator costs ~5 µs each).
        const before = messages.length;
        while (messages.length < max && stream.readableLength > 0) {
          const message = stream.read() as Message<Buffer, Buffer, Buffer, Buffer> | null;
          if (message === null) break;
          messages.push(message);
        }
        if (messages.length > before) continue;
        const next = await read();
        pending = undefined;
        if (next.done) {
          ended = true;
          break;
        }
        messages.push(next.value);
      }
      const records: IncomingRecord<K, V>[] = [];
      const undecodable: UndecodableRecord[] = [];
      for (const m of messages) {
        const decoded = this.decode(m);
        if ('error' in decoded) undecodable.push(decoded);
        else records.push(decoded);
      }
      return { messages, records, undecodable, ended };
    };
    // The next batch is read and decoded while the handler works on this one (its I/O leaves the thread free);
    // it is handed over only after this one is handled and committed, so batches stay in order. A read that fails
    // meanwhile (the broker gone) fails the loop when its turn comes: until then it must not count as unhandled,
    // which would end the process.
    const readAhead = () => {
      const batch = nextBatch();
      batch.catch(() => undefined);
      return batch;
    };
    let upcoming: Promise<ReadBatch<K, V> | null> = readAhead();
    while (!this.closed) {
      const batch = await upcoming;
      if (batch === null) break;
      const { messages, records, undecodable, ended } = batch;
      upcoming = ended ? Promise.resolve(null) : readAhead();
      // While tracing is on, the handling joins the traces of the records' producers (kafka-tracing.ts).
      await tracedHandle(this.options.groupId, undecodable.length === 0 ? records : [...records, ...undecodable], () =>
        handler(records, undecodable),
      );
      // Closed while handling: leave the batch uncommitted, the group's next owner re-reads it.
      if (this.closed) break;
      await commitLastPerPartition(messages);
      if (this.metrics) for (const [topic, n] of countByTopic(messages)) this.metrics.consumed(this.options.groupId, topic, n);
    }
    // A batch read ahead and never handled is not committed: the group's next owner (or this one) re-reads it.
  }

  /** The record, or (a poison record) its bytes and the codec's error: one bad record never fails the batch. */
  private decode(message: Message<Buffer, Buffer, Buffer, Buffer>): IncomingRecord<K, V> | UndecodableRecord {
    const topic = this.decoders.get(message.topic);
    if (!topic) throw new Error(`received a record of unsubscribed topic ${message.topic}`);
    const headers: Record<string, string> = {};
    for (const [name, value] of message.headers) headers[name.toString()] = value.toString();
    const rawKey = message.key && message.key.length > 0 ? message.key : null;
    const rawValue = message.value !== undefined && message.value !== null && message.value.length > 0 ? message.value : null;
    const raw = { key: rawKey, value: rawValue };
    const { topic: name, partition, offset } = message;
    const timestampMs = Number(message.timestamp);
    let part = 'key';
    try {
      const key = rawKey === null ? null : topic.key.decode(rawKey);
      part = 'value';
      const value = rawValue === null ? null : topic.value.decode(rawValue);
      return { topic: name, partition, offset, timestampMs, headers, raw, key, value };
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      const error = new DecodeError(`cannot decode the ${part} of ${topic.name}: ${reason}`, { cause });
      return { topic: name, partition, offset, timestampMs, headers, raw, error };
    }
  }

  /** The lag of the partitions this member is assigned (none before it joined, or when it reads from given offsets). */
  async lag(): Promise<PartitionLag[]> {
    if (this.closed || !this.stream) return [];
    const lags = await this.consumer.getLag({ topics: this.topics.map((t) => t.name) });
    const out: PartitionLag[] = [];
    // Negative values mark partitions this member is not assigned.
    for (const [topic, partitions] of lags)
      partitions.forEach((lag, partition) => lag >= 0n && out.push({ topic, partition, lag: Number(lag) }));
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    if (this.stream) await this.stream.close().catch(() => undefined);
    await this.consumer.close(true);
  }
}

function countByTopic(messages: readonly Message<Buffer, Buffer, Buffer, Buffer>[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m.topic, (counts.get(m.topic) ?? 0) + 1);
  return counts;
}

async function commitLastPerPartition(messages: Message<Buffer, Buffer, Buffer, Buffer>[]): Promise<void> {
  const last = new Map<string, Message<Buffer, Buffer, Buffer, Buffer>>();
  for (const m of messages) last.set(`${m.topic}/${m.partition}`, m);
  await Promise.all([...last.values()].map((m) => m.commit()));
}
