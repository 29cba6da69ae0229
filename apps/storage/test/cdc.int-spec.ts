import type { DebeziumEnvelope, storageV1 } from '@pulse/contracts';
import { PlatformaticKafkaClient } from '@pulse/platform';
import { eventually } from '@pulse/platform/testing';
import { appDbTopics } from '../src/cdc/app-db.kafka.consumer';
import { changeEnvelope, dropKeyspace, stackConfig, startStorage, type StorageTestApp } from './storage-test-app';

// Envelopes as the cdc service (and Debezium) writes them, produced by the test itself.
let storage: StorageTestApp;
let kafka: PlatformaticKafkaClient;
let topics: ReturnType<typeof appDbTopics>;
let schema: string;

beforeAll(async () => {
  const probe = Math.random().toString(36).slice(2, 10);
  schema = `t_${probe}`;
  storage = await startStorage({ STORAGE_CDC_CONSUMER: 'true', STORAGE_CDC_SCHEMA: schema, STORAGE_CDC_GROUP: `storage-cdc-${probe}` });
  kafka = new PlatformaticKafkaClient({ brokers: stackConfig.KAFKA_BROKERS, clientId: `storage-cdc-test-${probe}` });
  topics = appDbTopics(schema);
});

afterAll(async () => {
  await storage?.close();
  await kafka?.close();
  if (storage) await dropKeyspace(storage.keyspace);
});

const envelope = (table: string, op: DebeziumEnvelope['op'], lsn: number, before: object | null, after: object | null) =>
  changeEnvelope(schema, table, op, lsn, before, after);

const user = (id: number, handle: string, name = 'Name') => ({
  id,
  handle,
  display_name: name,
  email: `${handle}@example.org`,
  bio: null,
  created_at: '2026-01-02T03:04:05.000000Z',
  updated_at: '2026-11-26T10:00:00.000000Z',
});

async function sendUser(op: DebeziumEnvelope['op'], lsn: number, before: object | null, after: object | null) {
  const id = ((after ?? before) as { id: number }).id;
  await kafka.producer.send(topics.users, [{ key: { id }, value: envelope('users', op, lsn, before, after) }]);
}

const profile = (userId: string) =>
  storage.client.call<storageV1.GetProfileResponse>('GetProfile', { userId }).then(
    (r) => r.profile,
    () => undefined,
  );

describe('applying the app database through its CDC topics', () => {
  it('creates, updates (moving the handle) and deletes profiles from users changes', async () => {
    await sendUser('c', 100, null, user(1, 'ada_src', 'Ada'));
    expect(
      await eventually(
        () => profile('1'),
        (p) => p?.handle === 'ada_src',
      ),
    ).toMatchObject({ displayName: 'Ada', handle: 'ada_src' });

    await sendUser('u', 110, null, user(1, 'ada_new', 'Ada L.'));
    await eventually(
      () => profile('1'),
      (p) => p?.handle === 'ada_new',
    );
    const byHandle = await storage.client.call<storageV1.GetProfileByHandleResponse>('GetProfileByHandle', { handle: 'ada_new' });
    expect(byHandle.profile!.userId).toBe('1');
    const old = await storage.client.call('GetProfileByHandle', { handle: 'ada_src' }).catch((e: any) => e);
    expect(old.code).toBe(5); // NOT_FOUND

    await sendUser('d', 120, user(1, 'ada_new'), null);
    await kafka.producer.send(topics.users, [{ key: { id: 1 }, value: null }]); // the tombstone after a delete
    expect(
      await eventually(
        () => profile('1'),
        (p) => p === undefined,
      ),
    ).toBeUndefined();
  });

  it('never lets a stale or replayed change overwrite a newer row, nor resurrect a deleted one', async () => {
    await sendUser('c', 200, null, user(2, 'grace_v1', 'v1'));
    await sendUser('u', 230, null, user(2, 'grace_v3', 'v3'));
    await sendUser('u', 215, null, user(2, 'grace_v2', 'v2')); // arrives late, older LSN
    await sendUser('c', 200, null, user(2, 'grace_v1', 'v1')); // replay of the first change
    await sendUser('c', 300, null, user(3, 'marker', 'marker')); // processed after the above: a barrier
    await eventually(
      () => profile('3'),
      (p) => p !== undefined,
    );
    expect(await profile('2')).toMatchObject({ handle: 'grace_v3', displayName: 'v3' });

    await sendUser('d', 400, user(3, 'marker'), null);
    await sendUser('c', 350, null, user(3, 'marker', 'zombie')); // older than the delete
    await sendUser('c', 500, null, user(4, 'barrier2'));
    await eventually(
      () => profile('4'),
      (p) => p !== undefined,
    );
    expect(await profile('3')).toBeUndefined();

    const metrics = await (await fetch(`${storage.running.httpUrl}/metrics`)).text();
    // The late v2, the replayed v1 and the zombie were refused.
    expect(metrics).toMatch(/storage_cdc_changes_total\{[^}]*table="users",outcome="stale"[^}]*\} 3/);
  });

  it('turns follows changes into graph edges with counts', async () => {
    const edge = { follower_id: 10, followee_id: 11, created_at: '2026-11-20T08:00:00.000000Z', muted: false };
    await kafka.producer.send(topics.follows, [
      { key: { follower_id: 10, followee_id: 11 }, value: envelope('follows', 'c', 600, null, edge) },
      { key: { follower_id: 12, followee_id: 11 }, value: envelope('follows', 'c', 601, null, { ...edge, follower_id: 12 }) },
    ]);
    const counts = () => storage.client.call<storageV1.GetFollowCountsResponse>('GetFollowCounts', { userId: '11' }).then((r) => r.counts!);
    expect(await eventually(counts, (c) => c.followers === 2)).toMatchObject({ followers: 2 });
    const rel = await storage.client.call<storageV1.GetRelationshipResponse>('GetRelationship', { userId: '10', otherUserId: '11' });
    expect(rel.relationship!.followingSince).toEqual({ seconds: Date.parse('2026-11-20T08:00:00Z') / 1000, nanos: 0 });

    await kafka.producer.send(topics.follows, [
      { key: { follower_id: 10, followee_id: 11 }, value: envelope('follows', 'd', 700, edge, null) },
      { key: { follower_id: 10, followee_id: 11 }, value: null },
    ]);
    expect(await eventually(counts, (c) => c.followers === 1)).toMatchObject({ followers: 1 });
  });

  it('turns blocks changes into blocks in both directions, newest first, and a delete (key only) lifts one', async () => {
    const block = (blocker: number, blocked: number, at: string) => ({ blocker_id: blocker, blocked_id: blocked, created_at: at });
    await kafka.producer.send(topics.blocks, [
      { key: { blocker_id: 20, blocked_id: 21 }, value: envelope('blocks', 'c', 800, null, block(20, 21, '2026-11-20T08:00:00Z')) },
      { key: { blocker_id: 20, blocked_id: 22 }, value: envelope('blocks', 'c', 801, null, block(20, 22, '2026-11-21T08:00:00Z')) },
      { key: { blocker_id: 23, blocked_id: 20 }, value: envelope('blocks', 'c', 802, null, block(23, 20, '2026-11-22T08:00:00Z')) },
    ]);
    const blocks = (userId: string, limit = 0) => storage.client.call<storageV1.ListBlocksResponse>('ListBlocks', { userId, limit });
    expect(
      await eventually(
        () => blocks('20'),
        (b) => b.blocking.length === 2 && b.blockedBy.length === 1,
      ),
    ).toEqual({
      blocking: ['22', '21'],
      blockedBy: ['23'],
      truncated: false,
    });
    expect(await blocks('21')).toEqual({ blocking: [], blockedBy: ['20'], truncated: false });
    expect(await blocks('20', 1)).toEqual({ blocking: ['22'], blockedBy: ['23'], truncated: true });

    // Unblock: the delete carries the key only (REPLICA IDENTITY DEFAULT); a replay of the older create is stale.
    await kafka.producer.send(topics.blocks, [
      {
        key: { blocker_id: 20, blocked_id: 21 },
        value: envelope('blocks', 'd', 900, { blocker_id: 20, blocked_id: 21, created_at: null }, null),
      },
      { key: { blocker_id: 20, blocked_id: 21 }, value: envelope('blocks', 'c', 800, null, block(20, 21, '2026-11-20T08:00:00Z')) },
    ]);
    expect(
      await eventually(
        () => blocks('21'),
        (b) => b.blockedBy.length === 0,
      ),
    ).toEqual({ blocking: [], blockedBy: [], truncated: false });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await blocks('20')).blocking).toEqual(['22']);
    await expect(blocks('20', 10_001)).rejects.toMatchObject({ code: 3, details: expect.stringContaining('limit') });
  });
});
