import { ingestV1, type storageV1, Topics } from '@pulse/contracts';
import { freePort, PlatformaticKafkaClient } from '@pulse/platform';
import { eventually, groupsAtEnd } from '@pulse/platform/testing';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dropKeyspace, stackConfig, startStorage, type StorageTestApp } from './storage-test-app';

const { ActivityType, TargetType } = ingestV1;
const DAY = 86_400_000;

const kafka = new PlatformaticKafkaClient({
  brokers: stackConfig.KAFKA_BROKERS,
  clientId: `storage-activity-test-${randomUUID().slice(0, 6)}`,
});
const apps: StorageTestApp[] = [];

afterAll(async () => {
  for (const app of apps) await app.close().catch(() => undefined);
  await kafka.close();
  for (const keyspace of new Set(apps.map((a) => a.keyspace))) await dropKeyspace(keyspace);
});

function tracked(userId: string, i: number, occurredMs: number): ingestV1.ActivityTracked {
  return {
    event: {
      eventId: `${userId}-${i}`,
      userId,
      type: i % 3 === 0 ? ActivityType.ACTIVITY_TYPE_LIKE : ActivityType.ACTIVITY_TYPE_VIEW,
      target: { type: TargetType.TARGET_TYPE_POST, id: `p-${i}` },
      occurredAt: { seconds: Math.floor(occurredMs / 1000), nanos: (occurredMs % 1000) * 1e6 },
      sessionId: 's-1',
      properties: { position: String(i) },
      context: undefined,
      recommendationId: '',
    },
    receivedAt: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
    ingest: { schemaVersion: 1, sourceIp: '', clientId: 'test', requestId: 'r' },
  };
}

async function listAll(app: StorageTestApp, userId: string, pageSize: number, types: number[] = []) {
  const all: storageV1.Activity[] = [];
  let pageToken = '';
  do {
    const page = await app.client.call<storageV1.ListActivityResponse>('ListActivity', { userId, pageSize, pageToken, types });
    all.push(...page.activities);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return all;
}

describe('activity from pulse.activity.tracked.v1', () => {
  it('writes tracked events, lists them newest first across days, and a replay duplicates nothing', async () => {
    const run = randomUUID().slice(0, 8);
    const userId = `u-act-${run}`;
    const group = `storage-activity-${run}`;
    // The group starts where the topic ends now, so the test reads only what it writes.
    await groupsAtEnd(kafka, [group], [Topics.activityTracked]);

    const now = Date.now();
    const events = Array.from({ length: 45 }, (_, i) => tracked(userId, i, now - (i % 3) * DAY - i * 1000));
    await kafka.producer.send(
      Topics.activityTracked,
      events.map((value) => ({ key: userId, value })),
    );

    const first = await startStorage({ STORAGE_ACTIVITY_CONSUMER: 'true', STORAGE_ACTIVITY_GROUP: group });
    apps.push(first);
    await eventually(
      () => listAll(first, userId, 100),
      (all) => all?.length >= 45,
    );
    const listed = await listAll(first, userId, 7);
    expect(listed).toHaveLength(45);
    expect(new Set(listed.map((a) => a.eventId)).size).toBe(45);
    const times = listed.map((a) => a.occurredAt!.seconds * 1000 + a.occurredAt!.nanos / 1e6);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(listed[0]).toMatchObject({ userId, target: { type: TargetType.TARGET_TYPE_POST }, sessionId: 's-1' });
    const likes = await listAll(first, userId, 50, [ActivityType.ACTIVITY_TYPE_LIKE]);
    expect(likes).toHaveLength(15);
    // The platform's Kafka metrics: records the group handled, and the lag of each partition it is assigned.
    const metrics = await (await fetch(`${first.running.httpUrl}/metrics`)).text();
    const consumed = new RegExp(
      `^kafka_consumer_records_total\\{group="${group}",topic="${Topics.activityTracked.name}"[^}]*\\} (\\d+)`,
      'm',
    );
    expect(Number(consumed.exec(metrics)?.[1])).toBeGreaterThanOrEqual(45);
    expect(metrics).toMatch(
      new RegExp(`^kafka_consumer_lag_records\\{group="${group}",topic="${Topics.activityTracked.name}",partition="\\d+"`, 'm'),
    );

    // A crash before the offsets were committed: the same records are consumed again by the next owner.
    await first.close();
    apps.pop();
    await kafka.admin.setGroupOffsets(group, Topics.activityTracked.name, await offsetsBefore(events.length));
    const second = await startStorage({
      STORAGE_ACTIVITY_CONSUMER: 'true',
      STORAGE_ACTIVITY_GROUP: group,
      CASSANDRA_KEYSPACE: first.keyspace,
    });
    apps.push(second);
    await eventually(
      () => writtenCount(second),
      (n) => n >= 45,
    );
    expect(await listAll(second, userId, 100)).toHaveLength(45);
  });
});

describe('a Kafka outage', () => {
  // A broker of its own (tools/stack with another STACK_DIR and ports, the default stack's jars), so that stopping it
  // touches nothing else of the suite.
  const STACK = resolve(__dirname, '../../../tools/stack/stack');
  const dir = mkdtempSync(join(tmpdir(), 'pulse-kafka-outage-'));
  let env: NodeJS.ProcessEnv;
  let brokers: string;
  const stack = (...args: string[]) => execFileSync(STACK, args, { env, stdio: 'pipe', timeout: 240_000 });

  beforeAll(async () => {
    const jars = join(process.env['STACK_DIR'] ?? resolve(__dirname, '../../../.stack'), 'jars');
    symlinkSync(realpathSync(jars), join(dir, 'jars'));
    const [port, controller] = [await freePort(), await freePort()];
    env = { ...process.env, STACK_DIR: dir, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controller), KAFKA_SASL_PORT: '' };
    env['KAFKA_HEAP'] = '256m';
    stack('up', 'kafka');
    brokers = `127.0.0.1:${port}`;
  }, 240_000);

  afterAll(() => {
    stack('down');
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('leaves storage running and not ready while the broker is down, then consumes again without a restart', async () => {
    const kill = jest.spyOn(process, 'kill');
    const run = randomUUID().slice(0, 8);
    const userId = `u-outage-${run}`;
    const own = new PlatformaticKafkaClient({ brokers: [brokers], clientId: `storage-outage-${run}` });
    const app = await startStorage({
      KAFKA_BROKERS: brokers,
      STORAGE_ACTIVITY_CONSUMER: 'true',
      STORAGE_ACTIVITY_GROUP: `storage-outage-${run}`,
      STORAGE_CDC_CONSUMER: 'false',
      LOG_LEVEL: 'fatal',
    });
    apps.push(app);
    const readiness = async () => {
      const res = await fetch(`${app.running.httpUrl}/health/ready`);
      return { status: res.status, body: (await res.json()) as { checks: Record<string, { error?: string }> } };
    };
    try {
      await own.producer.send(Topics.activityTracked, [{ key: userId, value: tracked(userId, 1, Date.now()) }]);
      await eventually(
        () => listAll(app, userId, 10),
        (all) => all.length === 1,
        60_000,
      );

      stack('down', 'kafka');
      const down = await eventually(
        readiness,
        (r) => r.body.checks['activity-consumer']?.error?.includes('consumer lost Kafka') === true,
        90_000,
      );
      expect(down.status).toBe(503);
      // still serving what Cassandra holds
      expect(await listAll(app, userId, 10)).toHaveLength(1);

      stack('up', 'kafka');
      await own.producer.send(Topics.activityTracked, [{ key: userId, value: tracked(userId, 2, Date.now()) }]);
      await eventually(
        () => listAll(app, userId, 10),
        (all) => all.length === 2,
        120_000,
      );
      expect((await eventually(readiness, (r) => r.status === 200, 60_000)).status).toBe(200);
      expect(kill).not.toHaveBeenCalledWith(process.pid, 'SIGTERM');
    } finally {
      kill.mockRestore();
      await own.close();
    }
  }, 420_000);
});

/** storage_activity_written_total of an app: how many events its consumer wrote. */
async function writtenCount(app: StorageTestApp): Promise<number> {
  const text = await (await fetch(`${app.running.httpUrl}/metrics`)).text();
  return Number(/^storage_activity_written_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}

/** Offsets that put the group back before the last `count` records of the user's partition. */
async function offsetsBefore(count: number): Promise<bigint[]> {
  const end = await kafka.admin.endOffsets(Topics.activityTracked.name);
  return end.map((o) => (o >= BigInt(count) ? o - BigInt(count) : 0n));
}
