import { deadLetterTopic, utf8Codec, defineTopic } from '@pulse/contracts';
import { HealthRegistry } from '../health/health.registry';
import { createLogger } from '../logging/logger';
import { ServiceMetrics } from '../metrics/metrics';
import { DecodeError } from './consumer-errors';
import { superviseConsumer } from './consumer-supervisor';
import type { BatchHandler, EventConsumer, KafkaClient, OutgoingRecord, UndecodableRecord } from './kafka.types';

const topic = defineTopic({ name: 'pulse.things.v1', description: 'test', partitions: 1, config: {}, key: utf8Codec, value: utf8Codec });

/** A KafkaClient whose consumer runs `loop` with the supervisor's handler, and whose producer keeps what it was sent. */
function fakeKafka(loop: (handler: BatchHandler<string, string>) => Promise<void>) {
  const sent: { topic: string; records: readonly OutgoingRecord<any, any>[] }[] = [];
  const ensured: string[] = [];
  const consumer: EventConsumer<string, string> & { closed: boolean } = {
    groupId: 'things-writer',
    closed: false,
    run: loop,
    async close() {
      this.closed = true;
    },
  };
  let created = 0;
  const kafka = {
    consumer: () => {
      created++;
      return consumer;
    },
    producer: {
      send: async (t: { name: string }, records: readonly OutgoingRecord<any, any>[]) => void sent.push({ topic: t.name, records }),
    },
    admin: { ensureTopics: async (ts: { name: string }[]) => void ensured.push(...ts.map((t) => t.name)) },
  } as unknown as KafkaClient;
  return { kafka, consumer, sent, ensured, created: () => created };
}

function poison(offset: bigint): UndecodableRecord {
  return {
    topic: topic.name,
    partition: 0,
    offset,
    timestampMs: 0,
    headers: {},
    raw: { key: null, value: Buffer.from([0xff]) },
    error: new DecodeError('garbage'),
  };
}

describe('superviseConsumer', () => {
  const logger = createLogger('test', 'silent');
  const consume = { groupId: 'things-writer', from: 'earliest' as const };
  let kill: jest.SpyInstance;

  beforeEach(() => {
    kill = jest.spyOn(process, 'kill').mockImplementation(() => true);
  });

  afterEach(() => {
    kill.mockRestore();
    process.exitCode = undefined;
  });

  it('turns the service not ready with the reason when the loop fails, recreates the consumer after a backoff and is ready again, never exiting', async () => {
    const health = new HealthRegistry();
    const metrics = new ServiceMetrics('test');
    let runs = 0;
    let finish!: () => void;
    let delivered!: () => void;
    const batchDelivered = new Promise<void>((resolve) => (delivered = resolve));
    const { kafka, created } = fakeKafka(async (handler) => {
      runs++;
      if (runs <= 2) throw new Error('broker gone');
      await handler([{ topic: topic.name, partition: 0, offset: 7n, timestampMs: 0, key: 'k', value: 'v', headers: {} }], []);
      delivered();
      await new Promise<void>((resolve) => (finish = resolve));
    });
    const handled: string[] = [];
    const supervised = superviseConsumer({
      name: 'writer',
      kafka,
      topics: [topic],
      consume,
      handler: async (records) => void handled.push(...records.map((r) => String(r.value))),
      logger,
      health,
      metrics,
      reconnectBackoff: { initialDelayMs: 40, maxDelayMs: 40 },
    });
    await new Promise((r) => setTimeout(r, 5));
    const during = await health.readiness();
    expect(during.ready).toBe(false);
    expect(during.checks['writer'].error).toMatch(/^consumer lost Kafka \d+ s ago, reconnecting \(attempt 1\): broker gone$/);

    await batchDelivered;
    expect(created()).toBe(3);
    expect(handled).toEqual(['v']);
    expect((await health.readiness()).ready).toBe(true);
    expect(await metrics.registry.getSingleMetricAsString('kafka_consumer_reconnects_total')).toMatch(/group="things-writer"[^}]*\} 2/);
    expect(kill).not.toHaveBeenCalled();
    expect(process.exitCode).toBeUndefined();
    const stopping = supervised.stop();
    finish();
    await stopping;
  });

  it('stops quietly when the service closes it', async () => {
    const health = new HealthRegistry();
    let finish!: () => void;
    const { kafka, consumer } = fakeKafka(() => new Promise<void>((resolve) => (finish = resolve)));
    const supervised = superviseConsumer({
      name: 'writer',
      kafka,
      topics: [topic],
      consume,
      handler: async () => undefined,
      logger,
      health,
    });
    const stopping = supervised.stop();
    finish();
    await stopping;
    expect(consumer.closed).toBe(true);
    expect((await health.readiness()).ready).toBe(true);
    expect(kill).not.toHaveBeenCalled();
  });

  it('writes a poison record to the group dead-letter topic and goes on, ready, counting it', async () => {
    const health = new HealthRegistry();
    const metrics = new ServiceMetrics('test');
    const handled: string[] = [];
    let loop!: Promise<void>;
    const { kafka, sent, ensured } = fakeKafka(
      (handler) =>
        (loop = (async () => {
          await handler([], [poison(0n)]);
          await handler([{ topic: topic.name, partition: 0, offset: 1n, timestampMs: 0, key: 'k', value: 'fine', headers: {} }], []);
        })()),
    );
    superviseConsumer({
      name: 'writer',
      kafka,
      topics: [topic],
      consume,
      handler: async (records) => void handled.push(...records.map((r) => r.value!)),
      logger,
      health,
      metrics,
    });
    await loop;
    const dlq = deadLetterTopic('things-writer').name;
    expect(ensured).toEqual([dlq]);
    expect(sent).toHaveLength(1);
    expect(sent[0].topic).toBe(dlq);
    expect(sent[0].records[0].headers).toMatchObject({ '__pulse.errors.offset': '0', '__pulse.errors.stage': 'decode' });
    expect(handled).toEqual(['fine']);
    expect((await health.readiness()).ready).toBe(true);
    expect(kill).not.toHaveBeenCalled();
    expect(await metrics.registry.getSingleMetricAsString('kafka_consumer_dead_letters_total')).toContain(
      'kafka_consumer_dead_letters_total{group="things-writer",reason="decode",service="test"} 1',
    );
  });

  it('reports the consumer degraded with the reason while it retries, and healthy again once the batch goes through', async () => {
    const health = new HealthRegistry();
    const metrics = new ServiceMetrics('test');
    let failing = true;
    let attempts = 0;
    let loop!: Promise<void>;
    const { kafka } = fakeKafka(
      (handler) =>
        (loop = handler([{ topic: topic.name, partition: 0, offset: 0n, timestampMs: 0, key: 'k', value: 'v', headers: {} }], [])),
    );
    superviseConsumer({
      name: 'writer',
      kafka,
      topics: [topic],
      consume,
      handler: async () => {
        attempts++;
        if (failing) throw new Error('All host(s) tried for query failed');
      },
      backoff: { initialDelayMs: 5, maxDelayMs: 5 },
      logger,
      health,
      metrics,
    });
    while (attempts < 3) await new Promise((r) => setTimeout(r, 5));
    const degraded = await health.readiness();
    expect(degraded).toMatchObject({ ready: true, degraded: true });
    expect(degraded.checks['writer']).toMatchObject({ ok: false, degraded: true });
    expect(degraded.checks['writer'].error).toMatch(/retrying .*All host\(s\) tried for query failed/);
    failing = false;
    await loop;
    expect(await health.readiness()).toMatchObject({ ready: true, degraded: false });
    expect(kill).not.toHaveBeenCalled();
    expect(await metrics.registry.getSingleMetricAsString('kafka_consumer_retries_total')).toMatch(/group="things-writer".* [2-9]/);
  });
});
