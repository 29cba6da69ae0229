import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { bytesCodec, healthV1, ingestV1, protoFile, Topics } from '@pulse/contracts';
import * as descriptor from 'protobufjs/ext/descriptor';
import {
  decodeFieldViolations,
  grpcClient,
  type IncomingRecord,
  KAFKA_CLIENT,
  type KafkaClient,
  PlatformaticKafkaClient,
  type UnaryClient,
} from '@pulse/platform';
import Redis from 'ioredis';
import { issueTestApiKey, readTopicUntil, type TestApiKey } from '@pulse/platform/testing';
import { createHash, randomUUID } from 'node:crypto';
import { createApp, type RunningApp } from '../src/app.factory';
import { EventDedupRepository } from '../src/track-events/event-dedup.redis.repository';

const { ActivityType, EventStatus, RejectionReason, TargetType } = ingestV1;

// One app for the file; each test uses its own run-unique user and event ids.
let running: RunningApp;
let client: UnaryClient;
let key: TestApiKey;
let kafka: PlatformaticKafkaClient;
const run = randomUUID().slice(0, 8);
// Where the shared topics ended before this file wrote anything: reads start there.
let trackedSince: bigint[];
let rejectedSince: bigint[];

beforeAll(async () => {
  running = await createApp({
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    INGEST_DEDUP_KEY_PREFIX: `test:${run}:dedup:`,
  });
  key = await issueTestApiKey({ label: 'ingest', scopes: ['events:write'], pgUrl: running.config.PULSE_AUTH_PG_URL });
  client = grpcClient(running.grpcAddress, 'pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService', {
    credentials: key.key,
  });
  kafka = new PlatformaticKafkaClient({ brokers: running.config.KAFKA_BROKERS, clientId: `ingest-test-${run}` });
  trackedSince = await kafka.admin.endOffsets(Topics.activityTracked.name);
  rejectedSince = await kafka.admin.endOffsets(Topics.activityRejected.name);
});

afterAll(async () => {
  client?.close();
  await key?.remove();
  await kafka?.close();
  await running?.close();
});

function event(userId: string, n: number, overrides: Record<string, unknown> = {}) {
  const now = Date.now();
  return {
    eventId: `${userId}-e${n}`,
    userId,
    type: ActivityType.ACTIVITY_TYPE_VIEW,
    target: { type: TargetType.TARGET_TYPE_POST, id: `post-${n}` },
    occurredAt: { seconds: Math.floor(now / 1000), nanos: 0 },
    properties: { position: String(n) },
    ...overrides,
  };
}

/** Another ingest replica with these settings, and a client of it with the file's key. */
async function replica(overrides: Record<string, string>): Promise<{ app: RunningApp; client: UnaryClient }> {
  const app = await createApp({ GRPC_PORT: '0', HTTP_PORT: '0', LOG_LEVEL: 'warn', ...overrides });
  const client = grpcClient(app.grpcAddress, 'pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService', {
    credentials: key.key,
  });
  return { app, client };
}

const track = (events: unknown[], clientId = 'int-test') => client.call<ingestV1.TrackEventsResponse>('TrackEvents', { events, clientId });

function userRecords(userId: string) {
  return (r: IncomingRecord<string, ingestV1.ActivityTracked>) => r.key === userId;
}

describe('TrackEvents', () => {
  it('writes accepted events to pulse.activity.tracked.v1 keyed by user, in the order sent', async () => {
    const userId = `u-order-${run}`;
    const events = Array.from({ length: 50 }, (_, i) => event(userId, i));
    const response = await track(events);
    expect(response.acceptedCount).toBe(50);
    expect(response.results.every((r) => r.status === EventStatus.EVENT_STATUS_ACCEPTED)).toBe(true);

    const records = await readTopicUntil(kafka, Topics.activityTracked, {
      since: trackedSince,
      filter: userRecords(userId),
      done: (k) => k.length >= 50,
    });
    expect(records.map((r) => r.value!.event!.eventId)).toEqual(events.map((e) => e.eventId));
    expect(new Set(records.map((r) => r.partition)).size).toBe(1);
    const first = records[0].value!;
    expect(first.event).toMatchObject({ userId, type: ActivityType.ACTIVITY_TYPE_VIEW, properties: { position: '0' } });
    // The peer address leaves ingest truncated to its /24 (INGEST_IP_ANONYMIZATION=truncate by default).
    // The sender is the caller's principal (the API key's name), not the client_id the request claims.
    expect(first.ingest).toMatchObject({ schemaVersion: 1, clientId: key.name, sourceIp: '127.0.0.0' });
  });

  it('publishes client IP addresses truncated and User-Agents hashed, on the tracked and the dead-letter topic', async () => {
    const userId = `u-pii-${run}`;
    const context = { platform: 1, userAgent: 'Mozilla/5.0 (Macintosh) Safari/605.1.15', ipAddress: '203.0.113.77' };
    const response = await track([event(userId, 1, { context }), event(userId, 2, { context, type: 0 })]);
    expect(response.acceptedCount).toBe(1);
    const [tracked] = await readTopicUntil(kafka, Topics.activityTracked, {
      since: trackedSince,
      filter: userRecords(userId),
      done: (k) => k.length >= 1,
    });
    const [rejected] = await readTopicUntil(kafka, Topics.activityRejected, {
      since: rejectedSince,
      filter: (r) => r.value?.event?.userId === userId,
      done: (k) => k.length >= 1,
    });
    for (const e of [tracked.value!.event!, rejected.value!.event!]) {
      expect(e.context!.ipAddress).toBe('203.0.113.0');
      expect(e.context!.userAgent).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(tracked.value!.event!.context!.userAgent).toBe(rejected.value!.event!.context!.userAgent);
    expect(JSON.stringify([tracked.value, rejected.value])).not.toMatch(/Safari|203\.0\.113\.77/);
  });

  it('rejects an occurred_at past any Timestamp (int64 seconds at its maximum) and still writes the batch', async () => {
    const userId = `u-int64-${run}`;
    const response = await track([event(userId, 1), event(userId, 2, { occurredAt: { seconds: '9223372036854775807', nanos: 0 } })]);
    expect(response.results.map((r) => r.status)).toEqual([EventStatus.EVENT_STATUS_ACCEPTED, EventStatus.EVENT_STATUS_REJECTED]);
    expect(response.results[1]).toMatchObject({ reason: RejectionReason.REJECTION_REASON_INVALID_VALUE, field: 'occurred_at' });
    const [dead] = await readTopicUntil(kafka, Topics.activityRejected, {
      since: rejectedSince,
      filter: (r) => r.value?.event?.userId === userId,
      done: (k) => k.length >= 1,
    });
    expect(dead.key).toBe(`${userId}-e2`);
    expect(dead.value!.message).toMatch(/^occurred_at \{seconds: 9223372036854776000, nanos: 0\} is not a valid timestamp/);
  });

  it('answers per event and sends a rejected event to the dead-letter topic with its reason', async () => {
    const userId = `u-mixed-${run}`;
    const future = { seconds: Math.floor(Date.now() / 1000) + 3600, nanos: 0 };
    const response = await track([
      event(userId, 1),
      event(userId, 2, { occurredAt: future }),
      event(userId, 3, { type: 0 }),
      event(userId, 4),
    ]);
    expect(response.results.map((r) => r.status)).toEqual([
      EventStatus.EVENT_STATUS_ACCEPTED,
      EventStatus.EVENT_STATUS_REJECTED,
      EventStatus.EVENT_STATUS_REJECTED,
      EventStatus.EVENT_STATUS_ACCEPTED,
    ]);
    expect(response.results[1]).toMatchObject({
      index: 1,
      eventId: `${userId}-e2`,
      reason: RejectionReason.REJECTION_REASON_TIMESTAMP_OUT_OF_RANGE,
      field: 'occurred_at',
    });
    expect(response.results[2]).toMatchObject({ reason: RejectionReason.REJECTION_REASON_MISSING_FIELD, field: 'type' });

    const dead = await readTopicUntil(kafka, Topics.activityRejected, {
      since: rejectedSince,
      filter: (r) => r.value?.event?.userId === userId,
      done: (k) => k.length >= 2,
    });
    expect(dead.map((r) => [r.key, r.value!.reason, r.value!.field])).toEqual(
      expect.arrayContaining([
        [`${userId}-e2`, RejectionReason.REJECTION_REASON_TIMESTAMP_OUT_OF_RANGE, 'occurred_at'],
        [`${userId}-e3`, RejectionReason.REJECTION_REASON_MISSING_FIELD, 'type'],
      ]),
    );
    expect(dead[0].value!.message).not.toBe('');

    const tracked = await readTopicUntil(kafka, Topics.activityTracked, {
      since: trackedSince,
      filter: userRecords(userId),
      done: (k) => k.length >= 2,
    });
    expect(tracked.map((r) => r.value!.event!.eventId)).toEqual([`${userId}-e1`, `${userId}-e4`]);
  });

  it('lists only the events not accepted when the request omits accepted results, and counts them all', async () => {
    const userId = `u-omit-${run}`;
    await track([event(userId, 1)]);
    const response = await client.call<ingestV1.TrackEventsResponse>('TrackEvents', {
      events: [event(userId, 1), event(userId, 2), event(userId, 3, { userId: '' }), event(userId, 4)],
      clientId: 'int-test',
      omitAcceptedResults: true,
    });
    expect(response.results.map((r) => [r.index, r.status, r.field])).toEqual([
      [0, EventStatus.EVENT_STATUS_DUPLICATE, 'event_id'],
      [2, EventStatus.EVENT_STATUS_REJECTED, 'user_id'],
    ]);
    expect([response.acceptedCount, response.duplicateCount, response.rejectedCount]).toEqual([2, 1, 1]);
    const tracked = await readTopicUntil(kafka, Topics.activityTracked, {
      since: trackedSince,
      filter: userRecords(userId),
      done: (k) => k.length >= 3,
      timeoutMs: 4_000,
    });
    expect(tracked.map((r) => r.value!.event!.eventId)).toEqual([1, 2, 4].map((n) => `${userId}-e${n}`));
  });

  it("writes a plain event's bytes as they came, and encodes again an event with an unknown field or an anonymized address", async () => {
    const userId = `u-bytes-${run}`;
    // Plain, with its event_id last (fields may come in any order): encoding it again would put it first.
    const plain = Buffer.concat([
      ingestV1.ActivityEvent.encode(complete(event(userId, 1), { eventId: '' })).finish(),
      Buffer.from([0x0a, `${userId}-e1`.length]),
      Buffer.from(`${userId}-e1`),
    ]);
    // A field ActivityEvent does not have (field 15, a varint), appended by a newer client.
    const unknown = Buffer.concat([ingestV1.ActivityEvent.encode(complete(event(userId, 2))).finish(), Buffer.from([15 << 3, 1])]);
    const withAddress = ingestV1.ActivityEvent.encode(
      complete(event(userId, 3), {
        context: { platform: 0, appVersion: '', userAgent: '', ipAddress: '203.0.113.77', locale: '', timeZone: '' },
      }),
    ).finish();
    const request = Buffer.concat([plain, unknown, withAddress].map((e) => Buffer.concat([Buffer.from([0x0a]), varint(e.length), e])));
    const raw = new grpc.Client(running.grpcAddress, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${key.key}`);
    try {
      const answer = await new Promise<Buffer>((resolve, reject) =>
        raw.makeUnaryRequest(
          '/pulse.ingest.v1.IngestService/TrackEvents',
          (b: Buffer) => b,
          (b: Buffer) => b,
          request,
          metadata,
          (error, response) => (error ? reject(error) : resolve(response!)),
        ),
      );
      expect(ingestV1.TrackEventsResponse.decode(answer).acceptedCount).toBe(3);
    } finally {
      raw.close();
    }
    const tracked = await readTopicUntil(
      kafka,
      { ...Topics.activityTracked, value: bytesCodec },
      {
        since: trackedSince,
        filter: (r) => r.key === userId,
        done: (k) => k.length >= 3,
        timeoutMs: 4_000,
      },
    );
    // Field 1 of each ActivityTracked record is its event, as written.
    const eventBytes = tracked.map((r) => Buffer.from(ingestV1.ActivityTracked.decode(r.value!).event ? fieldOne(r.value!) : []));
    expect(eventBytes[0].equals(plain)).toBe(true);
    expect(ingestV1.ActivityEvent.decode(eventBytes[0]).eventId).toBe(`${userId}-e1`);
    expect(eventBytes[1].equals(unknown)).toBe(false);
    expect(eventBytes[1].includes(Buffer.from([15 << 3, 1]))).toBe(false);
    expect(ingestV1.ActivityEvent.decode(eventBytes[1]).eventId).toBe(`${userId}-e2`);
    expect(ingestV1.ActivityEvent.decode(eventBytes[2]).context?.ipAddress).toBe('203.0.113.0');
  });

  it('reports a resent event as a duplicate and writes it only once', async () => {
    const userId = `u-dup-${run}`;
    const first = await track([event(userId, 1), event(userId, 1)]);
    expect(first.results.map((r) => r.status)).toEqual([EventStatus.EVENT_STATUS_ACCEPTED, EventStatus.EVENT_STATUS_DUPLICATE]);
    const retry = await track([event(userId, 1), event(userId, 2)]);
    expect(retry.results.map((r) => r.status)).toEqual([EventStatus.EVENT_STATUS_DUPLICATE, EventStatus.EVENT_STATUS_ACCEPTED]);
    expect(retry.duplicateCount).toBe(1);

    const tracked = await readTopicUntil(kafka, Topics.activityTracked, {
      since: trackedSince,
      filter: userRecords(userId),
      done: (k) => k.length >= 3,
      timeoutMs: 4_000,
    });
    expect(tracked.map((r) => r.value!.event!.eventId)).toEqual([`${userId}-e1`, `${userId}-e2`]);
  });

  it('remembers accepted ids as fingerprints in intsets, no key per event, forgets them after the TTL, and knows ids kept as keys before', async () => {
    const prefix = `test:${run}:window:`;
    const { app, client: windowClient } = await replica({ INGEST_DEDUP_KEY_PREFIX: prefix, INGEST_DEDUP_TTL: '1h' });
    const redis = new Redis(running.config.REDIS_URL);
    try {
      const userId = `u-window-${run}`;
      const events = Array.from({ length: 600 }, (_, n) => event(userId, n));
      const call = (method: string, batch: unknown[]) =>
        windowClient.call<ingestV1.TrackEventsResponse>(method, { events: batch, clientId: 'int-test' });
      expect((await call('TrackEvents', events)).acceptedCount).toBe(600);

      const keys = await redis.keys(`${prefix}*`);
      const sets = keys.filter((k) => k.startsWith(`${prefix}window `));
      // No claim left behind, no key per event: the writer's sign of life and the window's sets.
      expect(keys.filter((k) => !sets.includes(k) && !k.startsWith(`${prefix}writer `))).toEqual([]);
      let members = 0;
      for (const k of sets) {
        members += await redis.scard(k);
        expect(await redis.object('ENCODING', k)).toBe('intset');
        // Each set expires by itself (two TTLs from its first id in the bucket) even if no sweep ever comes.
        const ttl = await redis.pttl(k);
        expect(ttl).toBeGreaterThan(7_000_000);
        expect(ttl).toBeLessThanOrEqual(7_200_000);
      }
      expect(members).toBe(600);

      const validated = await windowClient.call<ingestV1.ValidateEventsResponse>('ValidateEvents', {
        events: [events[0], events[599], event(userId, 600)],
        clientId: 'int-test',
      });
      expect(validated.results.map((r) => r.status)).toEqual([
        EventStatus.EVENT_STATUS_DUPLICATE,
        EventStatus.EVENT_STATUS_DUPLICATE,
        EventStatus.EVENT_STATUS_ACCEPTED,
      ]);
      expect((await call('TrackEvents', events)).duplicateCount).toBe(600);

      // A sweep now keeps every id and renews each set's time to live (two TTLs), a shortened one included.
      const dedup = app.app.get(EventDedupRepository);
      await redis.pexpire(sets[0], 60_000);
      expect(await dedup.sweep(Date.now())).toBe(0);
      for (const k of sets) expect(await redis.pttl(k)).toBeGreaterThan(7_000_000);
      expect(await dedup.sweep(Date.now())).toBeUndefined();
      // The sweep one and a half hours on (a TTL and a half-bucket) drops them: the same events are new again.
      expect(await dedup.sweep(Date.now() + 90 * 60_000)).toBe(600);
      expect((await call('TrackEvents', events.slice(0, 10))).acceptedCount).toBe(10);

      // An id remembered the way ingest kept them before the sets (its own key holding 1) is still a duplicate.
      await redis.set(`${prefix}${userId}-legacy`, '1', 'PX', 60_000);
      const legacy = await call('TrackEvents', [{ ...event(userId, 601), eventId: `${userId}-legacy` }, event(userId, 602)]);
      expect(legacy.results.map((r) => r.status)).toEqual([EventStatus.EVENT_STATUS_DUPLICATE, EventStatus.EVENT_STATUS_ACCEPTED]);
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      windowClient.close();
      await app.close();
    }
  });

  it('answers a retry of a call still waiting for Kafka, on another replica, UNAVAILABLE with nothing written, then DUPLICATE', async () => {
    const userId = `u-pending-${run}`;
    // A second replica sharing the dedup keys; the first one's next write waits at a gate, as behind a Kafka outage.
    const { app: other, client: otherClient } = await replica({
      INGEST_DEDUP_KEY_PREFIX: `test:${run}:dedup:`,
      INGEST_DEDUP_PENDING_WAIT: '300ms',
    });
    const producer = running.app.get<KafkaClient>(KAFKA_CLIENT).producer;
    const sendMany = producer.sendMany.bind(producer);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let waiting!: () => void;
    const atGate = new Promise<void>((resolve) => (waiting = resolve));
    const spy = jest.spyOn(producer, 'sendMany').mockImplementationOnce(async (batches) => {
      waiting();
      await gate;
      return sendMany(batches);
    });
    try {
      const first = track([event(userId, 1), event(userId, 2)]);
      await atGate;
      const retry = otherClient.call<ingestV1.TrackEventsResponse>('TrackEvents', {
        events: [event(userId, 1), event(userId, 2), event(userId, 3)],
        clientId: 'int-test',
      });
      const refused = await retry.catch((e) => e);
      expect(refused.code).toBe(status.UNAVAILABLE);
      expect(refused.details).toMatch(/^2 of these events \(u-pending-\S+-e1, …\) are still being written by an earlier call; retry/);
      open();
      expect((await first).acceptedCount).toBe(2);
      const again = await otherClient.call<ingestV1.TrackEventsResponse>('TrackEvents', {
        events: [event(userId, 1), event(userId, 2), event(userId, 3)],
        clientId: 'int-test',
      });
      expect(again.results.map((r) => r.status)).toEqual([
        EventStatus.EVENT_STATUS_DUPLICATE,
        EventStatus.EVENT_STATUS_DUPLICATE,
        EventStatus.EVENT_STATUS_ACCEPTED,
      ]);
      expect(await (await fetch(`${other.httpUrl}/metrics`)).text()).toMatch(/^ingest_calls_gave_way_total\{[^}]*\} 1$/m);

      // A replica that died while writing: its claim is free once its sign of life has lapsed (here: never given).
      const redis = new Redis(running.config.REDIS_URL);
      try {
        await redis.set(`test:${run}:dedup:${userId}-e4`, `p\ntest:${run}:dedup:writer gone\ncall`, 'PX', 60_000);
      } finally {
        redis.disconnect();
      }
      expect((await track([event(userId, 4)])).acceptedCount).toBe(1);
    } finally {
      spy.mockRestore();
      open();
      otherClient.close();
      await other.close();
    }
    const tracked = await readTopicUntil(kafka, Topics.activityTracked, {
      since: trackedSince,
      filter: userRecords(userId),
      done: (k) => k.length >= 5,
      timeoutMs: 4_000,
    });
    expect(tracked.map((r) => r.value!.event!.eventId)).toEqual([1, 2, 3, 4].map((n) => `${userId}-e${n}`));
  });

  it('rejects an event whose properties hold 3 MB as TOO_LARGE, still writes the good events, and dead-letters it cut down', async () => {
    const userId = `u-huge-${run}`;
    const blob = 'x'.repeat(3 * 1024 * 1024);
    const huge = event(userId, 2, { properties: { blob } });
    const response = await track([event(userId, 1), huge, event(userId, 3)]);
    expect(response.results.map((r) => r.status)).toEqual([
      EventStatus.EVENT_STATUS_ACCEPTED,
      EventStatus.EVENT_STATUS_REJECTED,
      EventStatus.EVENT_STATUS_ACCEPTED,
    ]);
    expect(response.results[1]).toMatchObject({ reason: RejectionReason.REJECTION_REASON_TOO_LARGE, field: 'properties.blob' });

    const tracked = await readTopicUntil(kafka, Topics.activityTracked, {
      since: trackedSince,
      filter: userRecords(userId),
      done: (k) => k.length >= 2,
    });
    expect(tracked.map((r) => r.value!.event!.eventId)).toEqual([`${userId}-e1`, `${userId}-e3`]);
    const [dead] = await readTopicUntil(kafka, Topics.activityRejected, {
      since: rejectedSince,
      filter: (r) => r.key === `${userId}-e2`,
      done: (k) => k.length >= 1,
    });
    expect(dead.value).toMatchObject({ reason: RejectionReason.REJECTION_REASON_TOO_LARGE, field: 'properties.blob' });
    expect(dead.value!.event!.eventId).toBe(`${userId}-e2`);
    expect(dead.value!.event!.properties['blob'].length).toBeLessThan(blob.length);
    const sent = { ...huge, sessionId: '', recommendationId: '', context: undefined };
    const original = ingestV1.ActivityEvent.encode(sent).finish();
    expect(dead.value!.originalSizeBytes).toBe(original.length);
    expect(dead.value!.originalSha256).toBe(createHash('sha256').update(original).digest('hex'));
  });

  it('writes a call larger than a Kafka request in several, in order, and rejects an event over the configured limit', async () => {
    const userId = `u-bulk-${run}`;
    // 400 events of ~6.5 KB for one user (one partition): 2.6 MB, over the topic's 1 MiB max.message.bytes.
    const properties = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, `${i}`.padEnd(100, 'v')]));
    const response = await track(Array.from({ length: 400 }, (_, i) => event(userId, i, { properties })));
    expect(response.acceptedCount).toBe(400);
    const tracked = await readTopicUntil(kafka, Topics.activityTracked, {
      since: trackedSince,
      filter: userRecords(userId),
      done: (k) => k.length >= 400,
    });
    expect(tracked.map((r) => r.value!.event!.eventId)).toEqual(Array.from({ length: 400 }, (_, i) => `${userId}-e${i}`));

    const { app: small, client: smallClient } = await replica({
      INGEST_DEDUP_KEY_PREFIX: `test:${run}:small:`,
      INGEST_MAX_EVENT_BYTES: '4096',
    });
    try {
      const answer = await smallClient.call<ingestV1.TrackEventsResponse>('TrackEvents', {
        events: [event(`${userId}-s`, 1), event(`${userId}-s`, 2, { properties })],
        clientId: 'int-test',
      });
      expect(answer.results.map((r) => r.status)).toEqual([EventStatus.EVENT_STATUS_ACCEPTED, EventStatus.EVENT_STATUS_REJECTED]);
      expect(answer.results[1]).toMatchObject({ reason: RejectionReason.REJECTION_REASON_TOO_LARGE, field: 'properties' });
      expect(answer.results[1].message).toMatch(/over the limit of 4096/);
    } finally {
      smallClient.close();
      await small.close();
    }
  });

  it('refuses an empty batch with INVALID_ARGUMENT naming the field', async () => {
    const error = await track([]).catch((e) => e);
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/^events:/);
    expect(decodeFieldViolations(error.metadata)).toEqual([{ field: 'events', description: 'at least one event is required' }]);
  });

  it('refuses a batch over the size limit without recording any of it', async () => {
    const userId = `u-big-${run}`;
    const events = Array.from({ length: 1001 }, (_, i) => event(userId, i));
    const error = await track(events).catch((e) => e);
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/1001 events exceed the limit of 1000/);
  });

  it('survives malformed values: wrong-typed fields come back rejected, not as a crash', async () => {
    const userId = `u-bad-${run}`;
    const response = await track([
      { eventId: `${userId}-x`, userId, type: 77, target: { type: 1, id: 'p' }, occurredAt: { seconds: 1, nanos: 0 } },
    ]);
    expect(response.results[0]).toMatchObject({
      status: EventStatus.EVENT_STATUS_REJECTED,
      reason: RejectionReason.REJECTION_REASON_UNKNOWN_TYPE,
    });
    // The service still answers afterwards.
    expect((await track([event(userId, 1)])).acceptedCount).toBe(1);
  });

  it('validates without recording anything', async () => {
    const userId = `u-dry-${run}`;
    const response = await client.call<ingestV1.ValidateEventsResponse>('ValidateEvents', { events: [event(userId, 1)] });
    expect(response.results[0].status).toBe(EventStatus.EVENT_STATUS_ACCEPTED);
    const retry = await track([event(userId, 1)]);
    expect(retry.results[0].status).toBe(EventStatus.EVENT_STATUS_ACCEPTED);
  });
});

describe('health, reflection and metrics', () => {
  it('answers grpc.health.v1 Check as SERVING for the service and for the server', async () => {
    const health = grpcClient(running.grpcAddress, 'grpc/health/v1/health.proto', 'grpc.health.v1.Health');
    try {
      const SERVING = healthV1.HealthCheckResponse_ServingStatus.SERVING;
      expect(await health.call('Check', { service: '' })).toEqual({ status: SERVING });
      expect(await health.call('Check', { service: 'pulse.ingest.v1.IngestService' })).toEqual({ status: SERVING });
      const unknown = await health.call('Check', { service: 'nope.Service' }).catch((e) => e);
      expect(unknown.code).toBe(status.NOT_FOUND);
    } finally {
      health.close();
    }
  });

  it('describes its services through server reflection with every imported file, as grpcurl needs', async () => {
    const definition = protoLoader.loadSync(protoFile('grpc/reflection/v1/reflection.proto'), { keepCase: true, oneofs: true });
    const Reflection = (grpc.loadPackageDefinition(definition) as any).grpc.reflection.v1.ServerReflection;
    const reflection = new Reflection(running.grpcAddress, grpc.credentials.createInsecure());
    const ask = (request: object) =>
      new Promise<any>((resolve, reject) => {
        const call = reflection.ServerReflectionInfo();
        call.on('data', (msg: unknown) => {
          resolve(msg);
          call.end();
        });
        call.on('error', reject);
        call.write(request);
      });
    try {
      const listed = await ask({ list_services: '' });
      const names = listed.list_services_response.service.map((s: { name: string }) => s.name);
      expect(names).toEqual(expect.arrayContaining(['pulse.ingest.v1.IngestService', 'grpc.health.v1.Health']));

      const files = await ask({ file_containing_symbol: 'pulse.ingest.v1.IngestService' });
      const decoded = files.file_descriptor_response.file_descriptor_proto.map(
        (b: Buffer) => descriptor.FileDescriptorProto.decode(b) as any,
      );
      expect(decoded.map((f: { name: string }) => f.name)).toEqual(
        expect.arrayContaining([
          'google/protobuf/timestamp.proto',
          'pulse/ingest/v1/activity.proto',
          'pulse/ingest/v1/ingest_service.proto',
        ]),
      );
      const activity = decoded.find((f: { name: string }) => f.name === 'pulse/ingest/v1/activity.proto');
      const event = activity.messageType.find((m: { name: string }) => m.name === 'ActivityEvent');
      expect(event.field.map((f: { name: string }) => f.name)).toContain('occurred_at');
    } finally {
      reflection.close();
    }
  });

  it('serves /health/live, /health/ready with its real dependencies, and Prometheus /metrics', async () => {
    expect((await fetch(`${running.httpUrl}/health/live`)).status).toBe(200);
    const ready = await fetch(`${running.httpUrl}/health/ready`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: Record<string, { ok: boolean }> };
    expect(body.checks.kafka.ok).toBe(true);
    expect(body.checks.redis.ok).toBe(true);
    await track([event(`u-metrics-${run}`, 1)]);
    const metrics = await (await fetch(`${running.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/ingest_events_total\{status="EVENT_STATUS_ACCEPTED"/);
    expect(metrics).toMatch(/kafka_producer_records_total\{topic="pulse.activity.tracked.v1"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/grpc_server_handled_total\{method="TrackEventsGrpcController.trackEvents",code="OK"/);
  });
});

function varint(n: number): Buffer {
  const bytes: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) bytes.push((n & 0x7f) | 0x80);
  bytes.push(n);
  return Buffer.from(bytes);
}

/** The bytes of field 1 (length-delimited, first in the message) of an encoded message. */
function fieldOne(message: Buffer): Buffer {
  let at = 1;
  let length = 0;
  let scale = 1;
  for (;;) {
    const b = message[at++];
    length += (b & 0x7f) * scale;
    if (b < 0x80) break;
    scale *= 0x80;
  }
  return message.subarray(at, at + length);
}

/** A whole ActivityEvent (what the generated encoder takes) from a test event. */
function complete(e: ReturnType<typeof event>, overrides: Partial<ingestV1.ActivityEvent> = {}): ingestV1.ActivityEvent {
  const defaults: Partial<ingestV1.ActivityEvent> = { sessionId: '', recommendationId: '', context: undefined };
  return { ...defaults, ...e, ...overrides } as ingestV1.ActivityEvent;
}
