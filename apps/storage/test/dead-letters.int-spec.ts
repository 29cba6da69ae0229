import { bytesCodec, type DebeziumEnvelope, deadLetterTopic, defineTopic, type storageV1, type TopicDefinition } from '@pulse/contracts';
import {
  DeadLetterHeaders,
  listDeadLetters,
  PermanentError,
  PlatformaticKafkaClient,
  REPLAYED_FROM_HEADER,
  replayDeadLetters,
} from '@pulse/platform';
import { eventually, fuzzTopic, readTopicUntil, topicFuzzProblems } from '@pulse/platform/testing';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { appDbTopics } from '../src/cdc/app-db.kafka.consumer';
import { ProfilesRepository } from '../src/profiles/profiles.cassandra.repository';
import { changeEnvelope, dropKeyspace, stackConfig, startStorage, type StorageTestApp } from './storage-test-app';

// The CDC applier of one storage app, on topics of its own schema (pulse.cdc.<schema>.users.v1), with its own group.
let storage: StorageTestApp;
let kafka: PlatformaticKafkaClient;
let topics: ReturnType<typeof appDbTopics>;
let schema: string;
let group: string;
let profiles: ProfilesRepository;

beforeAll(async () => {
  const probe = Math.random().toString(36).slice(2, 10);
  schema = `t_${probe}`;
  group = `storage-cdc-dlq-${probe}`;
  // LOG_LEVEL fatal: the fuzz test below makes each of its 300 records log a dead letter.
  storage = await startStorage({ STORAGE_CDC_CONSUMER: 'true', STORAGE_CDC_SCHEMA: schema, STORAGE_CDC_GROUP: group, LOG_LEVEL: 'fatal' });
  kafka = new PlatformaticKafkaClient({ brokers: stackConfig.KAFKA_BROKERS, clientId: `storage-dlq-test-${probe}` });
  topics = appDbTopics(schema);
  profiles = storage.running.app.get(ProfilesRepository);
});

afterAll(async () => {
  jest.restoreAllMocks();
  await storage?.close();
  if (kafka)
    await kafka.admin
      .deleteTopics([deadLetterTopic(group).name, `pulse.deadletter.${group.replace(/-/g, '_')}.replayed.v1`])
      .catch(() => undefined);
  await kafka?.close();
  if (storage) await dropKeyspace(storage.keyspace);
});

const user = (id: number, handle: string) => ({
  id,
  handle,
  display_name: handle,
  created_at: '2026-01-02T03:04:05Z',
  updated_at: '2026-01-02T03:04:05Z',
});

function created(id: number, handle: string, lsn: number): DebeziumEnvelope {
  return changeEnvelope(schema, 'users', 'c', lsn, null, user(id, handle));
}

const profile = (userId: string) =>
  storage.client.call<storageV1.GetProfileResponse>('GetProfile', { userId }).then(
    (r) => r.profile,
    () => undefined,
  );

const readiness = async () => {
  const res = await fetch(`${storage.running.httpUrl}/health/ready`);
  return {
    status: res.status,
    body: (await res.json()) as { ready: boolean; degraded: boolean; checks: Record<string, { error?: string }> },
  };
};

const metrics = async () => (await fetch(`${storage.running.httpUrl}/metrics`)).text();

describe('consumers never stop over one record', () => {
  it('retries while Cassandra fails, degraded but ready, and applies the change once it answers', async () => {
    const upsert = profiles.upsertFromSource.bind(profiles);
    let failures = 0;
    let healed = false;
    const spy = jest.spyOn(profiles, 'upsertFromSource').mockImplementation(async (row) => {
      if (!healed) {
        failures++;
        throw new Error('All host(s) tried for query failed (tried: 127.0.0.1:29042 - connection refused)');
      }
      return upsert(row);
    });
    await kafka.producer.send(topics.users, [{ key: { id: 1 }, value: created(1, 'transient_one', 100) }]);
    await eventually(
      async () => failures,
      (n) => n >= 3,
    );
    const during = await readiness();
    expect(during.status).toBe(200);
    expect(during.body.degraded).toBe(true);
    expect(during.body.checks['cdc-applier'].error).toMatch(/retrying .*connection refused/);

    healed = true;
    expect(
      await eventually(
        () => profile('1'),
        (p) => p !== undefined,
      ),
    ).toMatchObject({ handle: 'transient_one' });
    spy.mockRestore();
    expect((await readiness()).body.degraded).toBe(false);
    expect(await metrics()).toMatch(new RegExp(`kafka_consumer_retries_total\\{group="${group}"[^}]*\\} ([3-9]|\\d{2,})`));
    expect(await metrics()).not.toMatch(/kafka_consumer_dead_letters_total\{group="storage-cdc-dlq/);
  });

  it('dead-letters a record its handler refuses for good, and replays it to its topic once fixed, once', async () => {
    const spy = jest.spyOn(profiles, 'upsertFromSource').mockImplementation(async (row) => {
      throw new PermanentError(`handle ${row.handle} is reserved`);
    });
    await kafka.producer.send(topics.users, [{ key: { id: 2 }, value: created(2, 'refused_then_fixed', 200) }]);
    await eventually(
      () => listDeadLetters(kafka, group),
      (l) => l.sourceRecords === 1,
    );
    spy.mockRestore(); // the fix
    expect(await profile('2')).toBeUndefined();

    const first = await replayDeadLetters(kafka, group);
    expect(first).toMatchObject({ replayed: 1, alreadyReplayed: 0, byTargetTopic: { [topics.users.name]: 1 } });
    expect(
      await eventually(
        () => profile('2'),
        (p) => p !== undefined,
      ),
    ).toMatchObject({ handle: 'refused_then_fixed' });
    const second = await replayDeadLetters(kafka, group);
    expect(second).toMatchObject({ replayed: 0, alreadyReplayed: 1 });
    expect(await listDeadLetters(kafka, group)).toMatchObject({ sourceRecords: 1, replayed: 1, pending: 0 });
  });

  it('writes a poison record to the dead-letter topic with its bytes and headers, stays ready and applies what follows', async () => {
    const since = await kafka.admin.endOffsets(deadLetterTopic(group).name);
    const raw = defineTopic({ ...topics.users, key: bytesCodec, value: bytesCodec });
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22]);
    await kafka.producer.send(raw, [{ key: Buffer.from('{"id":3}'), value: garbage, headers: { traceparent: '00-poison-01' } }]);
    await kafka.producer.send(topics.users, [{ key: { id: 4 }, value: { hello: 'not a change event' } as unknown as DebeziumEnvelope }]);
    await kafka.producer.send(topics.users, [{ key: { id: 5 }, value: created(5, 'after_the_poison', 500) }]);

    expect(
      await eventually(
        () => profile('5'),
        (p) => p !== undefined,
      ),
    ).toMatchObject({ handle: 'after_the_poison' });
    const letters = await readTopicUntil(kafka, deadLetterTopic(group), { since, filter: () => true, done: (kept) => kept.length >= 2 });
    expect(letters).toHaveLength(2);
    const [decode, handle] = letters.sort(
      (a, b) => Number(a.headers[DeadLetterHeaders.offset]) - Number(b.headers[DeadLetterHeaders.offset]),
    );
    expect(decode.key).toEqual(Buffer.from('{"id":3}'));
    expect(decode.value).toEqual(garbage);
    expect(decode.headers).toMatchObject({
      traceparent: '00-poison-01',
      [DeadLetterHeaders.topic]: topics.users.name,
      [DeadLetterHeaders.group]: group,
      [DeadLetterHeaders.stage]: 'decode',
      [DeadLetterHeaders.exceptionClass]: 'DecodeError',
      [DeadLetterHeaders.attempts]: '1',
    });
    expect(decode.headers[DeadLetterHeaders.exceptionMessage]).toMatch(/cannot decode the value of pulse\.cdc\./);
    expect(decode.headers[DeadLetterHeaders.partition]).toMatch(/^\d+$/);
    expect(Number(decode.headers[DeadLetterHeaders.timestamp])).toBeGreaterThan(Date.now() - 120_000);
    expect(handle.headers).toMatchObject({ [DeadLetterHeaders.stage]: 'handle', [DeadLetterHeaders.exceptionClass]: 'PermanentError' });
    expect(JSON.parse(handle.value!.toString())).toEqual({ hello: 'not a change event' });

    const ready = await readiness();
    expect(ready.status).toBe(200);
    expect(ready.body.checks['cdc-applier'].error).toBeUndefined();
    const text = await metrics();
    expect(text).toMatch(new RegExp(`kafka_consumer_dead_letters_total\\{group="${group}",reason="decode"[^}]*\\} 1`));
    expect(text).toMatch(new RegExp(`kafka_consumer_dead_letters_total\\{group="${group}",reason="permanent"[^}]*\\} 2`));
  });

  it('lists the dead letters of a group and writes them back to another topic with the command line tool', async () => {
    const target = defineTopic({ ...deadLetterTopic(group), name: `pulse.test.replayed_${schema}.v1`, partitions: 1 });
    await kafka.admin.ensureTopics([target]);
    const tool = join(__dirname, '..', '..', '..', 'tools', 'kafka', 'deadletters');
    const env = { ...process.env, KAFKA_BROKERS: stackConfig.KAFKA_BROKERS.join(',') };
    const run = async (...args: string[]) => JSON.parse((await promisify(execFile)(tool, args, { env, timeout: 150_000 })).stdout);
    try {
      const listed = await run('list', group);
      expect(listed).toMatchObject({ group, sourceRecords: 3, replayed: 1, pending: 2 });
      expect(listed.errors.map((e: { exceptionClass: string }) => e.exceptionClass).sort()).toEqual([
        'DecodeError',
        'PermanentError',
        'PermanentError',
      ]);

      expect(await run('replay', group, '--to', target.name)).toMatchObject({ replayed: 2, alreadyReplayed: 1 });
      const copies = await readTopicUntil(kafka, target, { filter: () => true, done: (kept) => kept.length >= 2 });
      expect(copies.map((c) => c.headers[REPLAYED_FROM_HEADER]).every((from) => from.startsWith(`${topics.users.name}/`))).toBe(true);
      expect(copies.some((c) => c.value?.equals(Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22])))).toBe(true);
      expect(await replayDeadLetters(kafka, group, { to: target.name })).toMatchObject({ replayed: 0, alreadyReplayed: 3 });
    } finally {
      await kafka.admin.deleteTopics([target.name]).catch(() => undefined);
    }
  }, 240_000);

  it('dead-letters 300 generated malformed records at the decode stage and goes on (the short run of tools/fuzz/fuzz records)', async () => {
    const report = await fuzzTopic(kafka, topics.users as TopicDefinition<unknown, unknown>, {
      groups: [group],
      count: 300,
      seed: 20_261_206,
      timeoutMs: 90_000,
    });
    expect(topicFuzzProblems(report, 300)).toEqual([]);
    await kafka.producer.send(topics.users, [{ key: { id: 6 }, value: created(6, 'after_the_fuzz', 600) }]);
    expect(
      await eventually(
        () => profile('6'),
        (p) => p !== undefined,
      ),
    ).toMatchObject({ handle: 'after_the_fuzz' });
    expect((await readiness()).status).toBe(200);
  }, 120_000);

  it('dead-letters a follows or blocks change whose ids no user can have (a retry would fail the same way) and goes on', async () => {
    const before = (await listDeadLetters(kafka, group)).sourceRecords;
    const change = (table: 'follows' | 'blocks', after: Record<string, unknown>, lsn: number) =>
      changeEnvelope(schema, table, 'c', lsn, null, after);
    await kafka.producer.send(topics.blocks, [
      { key: { blocker_id: 'no such user!', blocked_id: 7 }, value: change('blocks', { blocker_id: 'no such user!', blocked_id: 7 }, 900) },
      { key: { blocker_id: 8, blocked_id: 8 }, value: change('blocks', { blocker_id: 8, blocked_id: 8 }, 901) },
      {
        key: { blocker_id: 8, blocked_id: 9 },
        value: change('blocks', { blocker_id: 8, blocked_id: 9, created_at: '2026-11-20T08:00:00Z' }, 902),
      },
    ]);
    await kafka.producer.send(topics.follows, [{ key: { follower_id: 10 }, value: change('follows', { follower_id: 10 }, 903) }]);
    const blocks = await eventually(
      () => storage.client.call<storageV1.ListBlocksResponse>('ListBlocks', { userId: '8' }),
      (b) => b.blocking.length === 1,
    );
    expect(blocks.blocking).toEqual(['9']);
    expect(
      await eventually(
        () => listDeadLetters(kafka, group),
        (l) => l.sourceRecords === before + 3,
      ),
    ).toMatchObject({ sourceRecords: before + 3 });
    expect((await readiness()).body.checks['cdc-applier'].error).toBeUndefined();
  });
});
