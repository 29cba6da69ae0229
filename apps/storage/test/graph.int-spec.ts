import { status } from '@grpc/grpc-js';
import type { storageV1 } from '@pulse/contracts';
import { GraphRepository } from '../src/graph/graph.cassandra.repository';
import { GraphService } from '../src/graph/graph.service';
import { dropKeyspace, startStorage, type StorageTestApp } from './storage-test-app';

let storage: StorageTestApp;

beforeAll(async () => {
  storage = await startStorage();
});

afterAll(async () => {
  await storage?.close();
  if (storage) await dropKeyspace(storage.keyspace);
});

const call = <T = any>(method: string, request: object) => storage.client.call<T>(method, request);
const counts = async (userId: string) => (await call<storageV1.GetFollowCountsResponse>('GetFollowCounts', { userId })).counts;

async function allFollowers(userId: string, pageSize: number): Promise<storageV1.Follow[]> {
  const all: storageV1.Follow[] = [];
  let pageToken = '';
  do {
    const page = await call<storageV1.ListFollowersResponse>('ListFollowers', { userId, pageSize, pageToken });
    expect(page.follows.length).toBeLessThanOrEqual(pageSize);
    all.push(...page.follows);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return all;
}

describe('social graph', () => {
  it('follow and unfollow keep both directions and both counts in step', async () => {
    const first = await call<storageV1.FollowResponse>('Follow', { followerId: 'alice', followeeId: 'bob' });
    expect(first.created).toBe(true);
    const again = await call<storageV1.FollowResponse>('Follow', { followerId: 'alice', followeeId: 'bob' });
    expect(again.created).toBe(false);
    expect(again.follow!.createdAt).toEqual(first.follow!.createdAt);

    const rel = await call<storageV1.GetRelationshipResponse>('GetRelationship', { userId: 'alice', otherUserId: 'bob' });
    expect(rel.relationship).toMatchObject({ following: true, followedBy: false });
    expect((await allFollowers('bob', 10)).map((f) => f.followerId)).toEqual(['alice']);
    expect(await counts('alice')).toMatchObject({ following: 1, followers: 0 });
    expect(await counts('bob')).toMatchObject({ following: 0, followers: 1 });

    expect((await call<storageV1.UnfollowResponse>('Unfollow', { followerId: 'alice', followeeId: 'bob' })).deleted).toBe(true);
    expect((await call<storageV1.UnfollowResponse>('Unfollow', { followerId: 'alice', followeeId: 'bob' })).deleted).toBe(false);
    expect(await allFollowers('bob', 10)).toEqual([]);
    expect(await counts('alice')).toMatchObject({ following: 0 });
    expect(await counts('bob')).toMatchObject({ followers: 0 });
  });

  it('pages every follower exactly once, newest first, across day buckets', async () => {
    const repo = storage.running.app.get(GraphRepository);
    const now = Date.now();
    // 60 followers spread over 6 days, written as the service writes them.
    for (let i = 0; i < 60; i++) {
      const edge = { followerId: `fan-${i}`, followeeId: 'star', followedAt: new Date(now - (i % 6) * 86_400_000 - i * 1000) };
      await repo.insertFollowing(edge);
      await repo.writeFollowerSide(edge);
    }
    const seen = await allFollowers('star', 7);
    expect(seen).toHaveLength(60);
    expect(new Set(seen.map((f) => f.followerId)).size).toBe(60);
    const times = seen.map((f) => f.createdAt!.seconds * 1000 + f.createdAt!.nanos / 1e6);
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('repairs a follow whose second write failed, and recounts', async () => {
    const repo = storage.running.app.get(GraphRepository);
    // A crash right after the following row was written: no follower side, no counters.
    await repo.insertFollowing({ followerId: 'carol', followeeId: 'dave', followedAt: new Date() });
    expect(await allFollowers('dave', 10)).toEqual([]);
    const rel = await call<storageV1.GetRelationshipResponse>('GetRelationship', { userId: 'carol', otherUserId: 'dave' });
    expect(rel.relationship!.following).toBe(true);

    const graph = storage.running.app.get(GraphService);
    expect(await graph.repairEdge('carol', 'dave')).toBe('written');
    expect(await graph.repairEdge('carol', 'dave')).toBe('written');
    await graph.repairCounts('carol');
    await graph.repairCounts('dave');
    expect((await allFollowers('dave', 10)).map((f) => f.followerId)).toEqual(['carol']);
    expect(await counts('carol')).toMatchObject({ following: 1 });
    expect(await counts('dave')).toMatchObject({ followers: 1 });
  });

  it('lists mutual follows', async () => {
    await call('Follow', { followerId: 'erin', followeeId: 'frank' });
    await call('Follow', { followerId: 'frank', followeeId: 'erin' });
    await call('Follow', { followerId: 'erin', followeeId: 'gina' });
    const mutual = await call<storageV1.ListMutualFollowsResponse>('ListMutualFollows', { userId: 'erin' });
    expect(mutual.userIds).toEqual(['frank']);
  });

  it('refuses to follow oneself and a forged page token, naming the field', async () => {
    const self = await call('Follow', { followerId: 'hal', followeeId: 'hal' }).catch((e: any) => e);
    expect(self.code).toBe(status.INVALID_ARGUMENT);
    expect(self.details).toMatch(/^followee_id:/);
    const forged = await call('ListFollowers', { userId: 'star', pageToken: 'not-a-token' }).catch((e: any) => e);
    expect(forged.code).toBe(status.INVALID_ARGUMENT);
    expect(forged.details).toMatch(/^page_token:/);
  });
});
