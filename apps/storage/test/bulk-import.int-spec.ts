import { status, type ServiceError } from '@grpc/grpc-js';
import { type storageV1, Topics } from '@pulse/contracts';
import { LOCAL_SUBJECT_KEY, PlatformaticKafkaClient, subjectHash } from '@pulse/platform';
import { stackCassandraClient } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openImportStream, runGraphImport } from '../src/cli/graph-import-command';
import { GRAPH_COUNTERS_LEASE, MaintenanceLeases } from '../src/shared/maintenance-lease.cassandra.repository';
import { failure } from './media-test-client';
import { dropKeyspace, stackConfig, startStorage, type StorageTestApp } from './storage-test-app';

// A bulk import as a migration runs it: a graph with a hub over several day buckets, through BulkImportFollows and
// through the graph-import command (checkpoints, a malformed line, a resume), then read back as users read it.
const DAY_MS = 86_400_000;
const T0 = Date.UTC(2026, 0, 10, 12);
let storage: StorageTestApp;
let dir: string;
// A user on the erasure list before the import runs: none of its edges may come back.
const erasedUser = `gone-${randomUUID().slice(0, 8)}`;

const call = <T = any>(method: string, request: object) => storage.client.call<T>(method, request);
const ts = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 });
const counts = async (userId: string) => (await call<storageV1.GetFollowCountsResponse>('GetFollowCounts', { userId })).counts!;
async function allFollowers(userId: string): Promise<string[]> {
  const ids: string[] = [];
  let pageToken = '';
  do {
    const page = await call<storageV1.ListFollowersResponse>('ListFollowers', { userId, pageSize: 500, pageToken });
    ids.push(...page.follows.map((f) => f.followerId));
    pageToken = page.nextPageToken;
  } while (pageToken);
  return ids;
}
async function importEdges(messages: Partial<storageV1.BulkImportFollowsRequest>[]): Promise<storageV1.BulkImportFollowsResponse> {
  const stream = openImportStream(storage.client, 60_000);
  for (const message of messages) await stream.write(message);
  return stream.end();
}

beforeAll(async () => {
  const kafka = new PlatformaticKafkaClient({ brokers: stackConfig.KAFKA_BROKERS, clientId: `storage-import-test-${erasedUser}` });
  try {
    await kafka.admin.ensureTopics([Topics.privacyErasures]);
    const hash = subjectHash(LOCAL_SUBJECT_KEY, erasedUser);
    await kafka.producer.send(Topics.privacyErasures, [
      { key: hash, value: { subjectHash: hash, jobId: erasedUser, erasedAt: undefined } },
    ]);
  } finally {
    await kafka.close();
  }
  // Small flushes, so a stream of a few thousand edges is written in several overlapping parts.
  storage = await startStorage({ STORAGE_CDC_CONSUMER: 'false', STORAGE_IMPORT_FLUSH_EDGES: '700', STORAGE_IMPORT_CONCURRENCY: '16' });
  dir = mkdtempSync(join(tmpdir(), 'graph-import-'));
}, 120_000);

afterAll(async () => {
  await storage?.close();
  if (storage) await dropKeyspace(storage.keyspace);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('BulkImportFollows', () => {
  const p = (s: string) => `${storage.run}${s}`;
  // 3,000 followers of a hub over three days, and each follower following the next 2 followers.
  const edges: storageV1.Follow[] = [];
  const build = () => {
    for (let i = 0; i < 3000; i++) edges.push({ followerId: p(`f${i}`), followeeId: p('hub'), createdAt: ts(T0 - (i % 3) * DAY_MS + i) });
    for (let i = 0; i < 3000; i++) {
      for (const j of [i + 1, i + 2]) {
        if (j < 3000) edges.push({ followerId: p(`f${i}`), followeeId: p(`f${j}`), createdAt: ts(T0 + i * 1000 + j) });
      }
    }
  };
  const messages = () =>
    Array.from({ length: Math.ceil(edges.length / 1000) }, (_, m) => ({ follows: edges.slice(m * 1000, (m + 1) * 1000) }));

  it('writes both directions of every edge and counters equal to the rows, with hubs spread over day buckets', async () => {
    build();
    const response = await importEdges(messages());
    expect(Number(response.edgesWritten)).toBe(edges.length);
    expect(Number(response.usersRecounted)).toBe(3001);
    // Grouped per partition: the hub's 3,000 follower rows are 3 day partitions (30 batches of 100), not 3,000 writes.
    expect(Number(response.batchesWritten)).toBeLessThan(edges.length * 2);

    expect(await counts(p('hub'))).toMatchObject({ followers: 3000, following: 0 });
    expect(await counts(p('f0'))).toMatchObject({ followers: 0, following: 3 });
    expect(await counts(p('f1'))).toMatchObject({ followers: 1, following: 3 });
    expect(await counts(p('f2999'))).toMatchObject({ followers: 2, following: 1 });
    const followers = await allFollowers(p('hub'));
    expect(followers).toHaveLength(3000);
    expect(new Set(followers).size).toBe(3000);
    const rel = await call<storageV1.GetRelationshipResponse>('GetRelationship', { userId: p('f7'), otherUserId: p('hub') });
    expect(rel.relationship).toMatchObject({ following: true, followedBy: false });
    expect(rel.relationship!.followingSince).toEqual(ts(T0 - 1 * DAY_MS + 7));
  }, 120_000);

  it('changes nothing when the same edges are imported again', async () => {
    const response = await importEdges(messages());
    expect(Number(response.edgesWritten)).toBe(edges.length);
    expect(Number(response.countersMoved)).toBe(0);
    expect(await counts(p('hub'))).toMatchObject({ followers: 3000 });
    expect(await allFollowers(p('hub'))).toHaveLength(3000);
  }, 120_000);

  it('writes an edge given twice in a stream once, with its first time, even when a flush lies between the two', async () => {
    const filler = Array.from({ length: 800 }, (_, i) => ({ followerId: p(`r${i}`), followeeId: p('rhub'), createdAt: ts(T0 + i) }));
    const response = await importEdges([
      { follows: [{ followerId: p('r1'), followeeId: p('r2'), createdAt: ts(T0) }] },
      { follows: filler },
      { follows: [{ followerId: p('r1'), followeeId: p('r2'), createdAt: ts(T0 + 3 * DAY_MS) }] },
    ]);
    expect(response).toMatchObject({ edgesWritten: 801, edgesRepeated: 1 });
    expect(await allFollowers(p('r2'))).toEqual([p('r1')]);
    const rel = await call<storageV1.GetRelationshipResponse>('GetRelationship', { userId: p('r1'), otherUserId: p('r2') });
    expect(rel.relationship!.followingSince).toEqual(ts(T0));
    expect(await counts(p('r2'))).toMatchObject({ followers: 1 });
  }, 60_000);

  it('refuses a malformed edge naming its message and position, after writing and counting the messages before it; drops the edges of erased users', async () => {
    const error = await failure(
      importEdges([
        { follows: [{ followerId: p('x1'), followeeId: p('x0'), createdAt: ts(T0) }] },
        {
          follows: [
            { followerId: p('x2'), followeeId: p('x0'), createdAt: ts(T0) },
            { followerId: p('x3'), followeeId: p('x0'), createdAt: undefined },
          ],
        },
        { follows: [{ followerId: p('x4'), followeeId: p('x0'), createdAt: ts(T0) }] },
      ]),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toContain('message 1: follows[1].created_at');
    expect(await counts(p('x0'))).toMatchObject({ followers: 1 });
    expect(await allFollowers(p('x0'))).toEqual([p('x1')]);

    const dropped = await importEdges([
      {
        follows: [
          { followerId: erasedUser, followeeId: p('x0'), createdAt: ts(T0) },
          { followerId: p('x6'), followeeId: erasedUser, createdAt: ts(T0) },
          { followerId: p('x7'), followeeId: p('x0'), createdAt: ts(T0) },
        ],
      },
    ]);
    expect(dropped).toMatchObject({ edgesWritten: 1, edgesDroppedErased: 2 });
    expect((await allFollowers(p('x0'))).sort()).toEqual([p('x1'), p('x7')]);
    expect(await counts(erasedUser)).toMatchObject({ followers: 0, following: 0 });

    const self = await failure(importEdges([{ follows: [{ followerId: p('x5'), followeeId: p('x5'), createdAt: ts(T0) }] }]));
    expect(self.code).toBe(status.INVALID_ARGUMENT);
    expect(self.details).toContain('message 0: follows[0].followee_id: must differ from follower_id');
  }, 60_000);

  it('is an admin RPC: RecountFollows refuses malformed ids and moves counters back to the rows', async () => {
    const bad = (await failure(call('RecountFollows', { userIds: [p('ok'), 'not valid!'] }))) as ServiceError;
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain('user_ids[1]');
    await call('Follow', { followerId: p('hub'), followeeId: p('f0') }); // moves counters the ordinary way
    const response = await call<storageV1.RecountFollowsResponse>('RecountFollows', { userIds: [p('hub'), p('f0'), p('f0')] });
    expect(Number(response.usersRecounted)).toBe(2);
    expect(Number(response.countersMoved)).toBe(0);
    expect(await counts(p('hub'))).toMatchObject({ followers: 3000, following: 1 });

    // Counters a lost update left off, fixed by one scan of the whole graph.
    const cql = stackCassandraClient({ keyspace: storage.keyspace });
    try {
      await cql.execute('UPDATE follow_counts SET followers = followers + 5 WHERE user_id = ?', [p('hub')], { prepare: true });
      await cql.execute('UPDATE follow_counts SET following = following - 1 WHERE user_id = ?', [p('f9')], { prepare: true });
    } finally {
      await cql.shutdown();
    }
    const both = await failure(call('RecountFollows', { userIds: [p('hub')], allUsers: true }));
    expect((both as ServiceError).details).toContain('user_ids: must be empty with all_users');
    // Counters move by difference: the recount waits while a reconciliation (or another recount) holds their lease.
    const leases = storage.running.app.get(MaintenanceLeases);
    const held = await leases.acquire(GRAPH_COUNTERS_LEASE.name, 'a-reconciliation', 60);
    if (!('renew' in held)) throw new Error('the counters lease is taken');
    const started = Date.now();
    setTimeout(() => void held.release(), 2000);
    const all = await call<storageV1.RecountFollowsResponse>('RecountFollows', { allUsers: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(Number(all.countersMoved)).toBe(2);
    expect(Number(all.usersRecounted)).toBeGreaterThanOrEqual(3001);
    expect(await counts(p('hub'))).toMatchObject({ followers: 3000, following: 1 });
    expect(await counts(p('f9'))).toMatchObject({ followers: 2, following: 3 });
  }, 60_000);
});

describe('graph-import (the command line)', () => {
  const p = (s: string) => `${storage.run}c${s}`;
  const lines = (bad?: number) => {
    const out = ['follower_id,followee_id,created_at', '# a migration of 600 edges'];
    for (let i = 0; i < 600; i++) {
      const at = new Date(T0 + i * 60_000).toISOString();
      out.push(i === bad ? `${p(`u${i}`)},${p(`u${i}`)},${at}` : `${p(`u${i % 40}`)}\t${p(`v${i}`)}\t${at}`);
    }
    return `${out.join('\n')}\n`;
  };

  it('stops at a malformed line with its number after importing the lines before it, and resumes from its checkpoint once it is mended', async () => {
    const file = join(dir, 'edges.csv');
    const checkpoint = `${file}.import-checkpoint.json`;
    writeFileSync(file, lines(450));
    const first = await runGraphImport([file, '--stream-edges', '100', '--message-edges', '30'], storage.client);
    expect(first.exitCode).toBe(2);
    expect(first.output).toContain('line 453: a user cannot follow itself');
    expect(existsSync(checkpoint)).toBe(true);
    expect(await allFollowers(p('v449'))).toEqual([p('u9')]);

    writeFileSync(file, lines());
    const second = await runGraphImport([file, '--stream-edges', '100', '--message-edges', '30', '--recount-batch', '7'], storage.client);
    expect(second.exitCode).toBe(0);
    const summary = JSON.parse(second.output);
    expect(summary).toMatchObject({ edges: 600, users_recounted: 640, resumed_from_line: 452 });
    expect(existsSync(checkpoint)).toBe(false);
    expect(await counts(p('u0'))).toMatchObject({ following: 15, followers: 0 });
    expect(await counts(p('v450'))).toMatchObject({ followers: 1 });

    // Again from the start: the same rows, nothing moves.
    const again = await runGraphImport([file], storage.client);
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.output)).toMatchObject({ edges: 600, counters_moved: 0, resumed_from_line: 0 });
    expect(await counts(p('u0'))).toMatchObject({ following: 15 });
  }, 120_000);

  it('refuses to resume when lines it imported changed, and lines without a time unless --created-at gives one', async () => {
    const file = join(dir, 'changed.csv');
    writeFileSync(file, lines(300));
    expect((await runGraphImport([file, '--stream-edges', '100'], storage.client)).exitCode).toBe(2);
    writeFileSync(file, lines().replace(p('v5'), p('w5')));
    const changed = await runGraphImport([file], storage.client);
    expect(changed.exitCode).toBe(2);
    expect(changed.output).toContain('changed since');

    const untimed = join(dir, 'untimed.csv');
    writeFileSync(untimed, `${p('a')},${p('b')}\n`);
    const refused = await runGraphImport([untimed], storage.client);
    expect(refused).toMatchObject({ exitCode: 2 });
    expect(refused.output).toContain('line 1: no created_at');
    const given = await runGraphImport([untimed, '--created-at', '2026-01-01T00:00:00Z'], storage.client);
    expect(given.exitCode).toBe(0);
    expect(await counts(p('b'))).toMatchObject({ followers: 1 });
  }, 120_000);
});
