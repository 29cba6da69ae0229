import type { ServiceError } from '@grpc/grpc-js';
import { ingestV1, type storageV1, Topics } from '@pulse/contracts';
import { LOCAL_SUBJECT_KEY, PlatformaticKafkaClient, subjectHash } from '@pulse/platform';
import { eventually, groupsAtEnd, stackCassandraClient } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActivityRepository } from '../src/activity/activity.cassandra.repository';
import { CdcRowVersionsRepository } from '../src/cdc/cdc-row-versions.cassandra.repository';
import { GraphService } from '../src/graph/graph.service';
import { MediaRepository } from '../src/media/media.cassandra.repository';
import { MediaLifecycleService } from '../src/media/media-lifecycle.service';
import { content, getMedia, putMedia, sha256 } from './media-test-client';
import { dropKeyspace, stackConfig, startStorage, type StorageTestApp } from './storage-test-app';

const { ActivityType, TargetType } = ingestV1;
const DAY = 86_400_000;

const kafka = new PlatformaticKafkaClient({
  brokers: stackConfig.KAFKA_BROKERS,
  clientId: `storage-erasure-test-${randomUUID().slice(0, 6)}`,
});
const apps: StorageTestApp[] = [];
const dirs: string[] = [];
const cassandra = stackCassandraClient();

afterAll(async () => {
  for (const app of apps) await app.close().catch(() => undefined);
  await kafka.close();
  await cassandra.shutdown();
  for (const keyspace of new Set(apps.map((a) => a.keyspace))) await dropKeyspace(keyspace);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function tracked(userId: string, i: number, occurredMs: number): ingestV1.ActivityTracked {
  return {
    event: {
      eventId: `${userId}-${i}`,
      userId,
      type: ActivityType.ACTIVITY_TYPE_LIKE,
      target: { type: TargetType.TARGET_TYPE_POST, id: `p-${i}` },
      occurredAt: { seconds: Math.floor(occurredMs / 1000), nanos: 0 },
      sessionId: 's',
      properties: {},
      context: undefined,
      recommendationId: '',
    },
    receivedAt: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
    ingest: { schemaVersion: 1, sourceIp: '', clientId: 'test', requestId: 'r' },
  };
}

/** Every row of every table of the keyspace, as JSON text: what a scan of the store would find. */
async function dumpKeyspace(keyspace: string): Promise<string> {
  const tables = await cassandra.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [keyspace]);
  const out: string[] = [];
  for (const t of tables.rows) {
    for await (const row of await cassandra.execute(`SELECT * FROM ${keyspace}.${t.get('table_name')}`, [], { fetchSize: 1000 })) {
      out.push(`${t.get('table_name')}: ${JSON.stringify(row)}`);
    }
  }
  return out.join('\n');
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])).filter((f) => f.isFile()).map((f) => f.name);
}

describe('EraseUserData', () => {
  it("removes the user's profile, handle, edges and blocks in both directions, activity, media and row versions; the others' counts and shared content stay right", async () => {
    const root = await mkdtemp(join(tmpdir(), 'storage-erasure-'));
    dirs.push(root);
    const app = await startStorage({
      MEDIA_ROOT: join(root, 'media'),
      MEDIA_ARCHIVE_ROOT: join(root, 'archive'),
      STORAGE_CDC_CONSUMER: 'false',
    });
    apps.push(app);
    const call = <T>(method: string, request: object) => app.client.call<T>(method, request);
    const subject = `erase-${app.run}`;
    const [bob, carol] = [`bob-${app.run}`, `carol-${app.run}`];
    for (const [userId, handle] of [
      [subject, `ada_${app.run}`],
      [bob, `bob_${app.run}`],
      [carol, `carol_${app.run}`],
    ]) {
      await call('CreateProfile', { profile: { userId, handle, displayName: userId } });
    }
    await call('Follow', { followerId: subject, followeeId: bob });
    await call('Follow', { followerId: bob, followeeId: subject });
    await call('Follow', { followerId: carol, followeeId: subject });
    await call('Follow', { followerId: carol, followeeId: bob });
    // Blocks both ways, and one between the others that stays.
    const graph = app.running.app.get(GraphService);
    await graph.applyBlock(subject, carol, { at: new Date() });
    await graph.applyBlock(bob, subject, { at: new Date() });
    await graph.applyBlock(carol, bob, { at: new Date() });
    const now = Date.now();
    await app.running.app
      .get(ActivityRepository)
      .write([tracked(subject, 1, now), tracked(subject, 2, now - 1000), tracked(subject, 3, now - 30 * DAY), tracked(bob, 4, now)]);
    const versions = app.running.app.get(CdcRowVersionsRepository);
    await versions.indexUsers('public.users', subject, [subject]);
    await versions.admit('public.users', subject, 10, false);
    await versions.indexUsers('public.follows', `${subject}:${bob}`, [subject, bob]);
    await versions.admit('public.follows', `${subject}:${bob}`, 11, true);

    // Media: the subject's own content, one object archived, and content the subject shares with bob.
    const own = content(4096);
    const cold = content(4096);
    const shared = content(4096);
    await putMedia(app.client, { ownerId: subject, contentType: 'image/png', filename: 'own.png' }, own);
    const archived = await putMedia(app.client, { ownerId: subject, contentType: 'image/png', filename: 'cold.png' }, cold);
    await app.running.app.get(MediaLifecycleService).archive((await app.running.app.get(MediaRepository).get(archived.mediaId))!);
    await putMedia(app.client, { ownerId: subject, contentType: 'image/png', filename: 'shared.png' }, shared);
    const bobs = await putMedia(app.client, { ownerId: bob, contentType: 'image/png', filename: 'also.png' }, shared);
    expect(await dumpKeyspace(app.keyspace)).toContain(subject);

    const first = await call<storageV1.EraseUserDataResponse>('EraseUserData', { userId: subject });
    expect(Object.fromEntries(Object.entries(first.erased).map(([k, v]) => [k, Number(v)]))).toMatchObject({
      profiles: 1,
      handles: 1,
      following: 1,
      followers: 2,
      activity_rows: 3,
      activity_days: 2,
      media_objects: 3,
      blobs_deleted: 2,
      blobs_kept_shared: 1,
      blocks: 2,
      cdc_row_versions: 2,
    });

    // Nothing of the subject in any table of the keyspace.
    expect(await dumpKeyspace(app.keyspace)).not.toContain(subject);
    const missing = (await call('GetProfile', { userId: subject }).catch((e: ServiceError) => e)) as ServiceError;
    expect(missing.code).toBe(5);
    // The others' counts moved with the edges; their own edges and activity stay.
    const counts = async (userId: string) => (await call<storageV1.GetFollowCountsResponse>('GetFollowCounts', { userId })).counts;
    expect(await counts(bob)).toMatchObject({ followers: 1, following: 0 });
    expect(await counts(carol)).toMatchObject({ followers: 0, following: 1 });
    const blocks = (userId: string) => call<storageV1.ListBlocksResponse>('ListBlocks', { userId });
    expect(await blocks(carol)).toEqual({ blocking: [bob], blockedBy: [], truncated: false });
    expect(await blocks(bob)).toEqual({ blocking: [], blockedBy: [carol], truncated: false });
    const bobActivity = await call<storageV1.ListActivityResponse>('ListActivity', { userId: bob, pageSize: 10 });
    expect(bobActivity.activities).toHaveLength(1);
    // Content: the subject's own blobs are gone from both tiers; the shared one stays for bob's object.
    const onDisk = [...(await filesUnder(join(root, 'media'))), ...(await filesUnder(join(root, 'archive')))];
    expect(onDisk.some((f) => f.startsWith(sha256(own)) || f.startsWith(sha256(cold)))).toBe(false);
    expect(onDisk.some((f) => f.startsWith(sha256(shared)))).toBe(true);
    expect((await getMedia(app.client, { mediaId: bobs.mediaId })).bytes.equals(shared)).toBe(true);

    // A second call (a retry, the verification pass) finds nothing.
    const again = await call<storageV1.EraseUserDataResponse>('EraseUserData', { userId: subject });
    expect(Object.values(again.erased).every((n) => Number(n) === 0)).toBe(true);
  });

  it('drops tracked events of a user on the erasure list, and keeps the others', async () => {
    const run = randomUUID().slice(0, 8);
    const [erased, kept] = [`gone-${run}`, `kept-${run}`];
    await kafka.admin.ensureTopics([Topics.privacyErasures]);
    await kafka.producer.send(Topics.privacyErasures, [
      {
        key: subjectHash(LOCAL_SUBJECT_KEY, erased),
        value: { subjectHash: subjectHash(LOCAL_SUBJECT_KEY, erased), jobId: run, erasedAt: undefined },
      },
    ]);
    const group = `storage-erasure-${run}`;
    await groupsAtEnd(kafka, [group], [Topics.activityTracked]);
    await kafka.producer.send(
      Topics.activityTracked,
      [tracked(erased, 1, Date.now()), tracked(kept, 2, Date.now())].map((value) => ({ key: value.event!.userId, value })),
    );
    const app = await startStorage({ STORAGE_ACTIVITY_CONSUMER: 'true', STORAGE_ACTIVITY_GROUP: group, STORAGE_CDC_CONSUMER: 'false' });
    apps.push(app);
    const list = (userId: string) =>
      app.client.call<storageV1.ListActivityResponse>('ListActivity', { userId, pageSize: 10 }).then((r) => r.activities.length);
    expect(
      await eventually(
        () => list(kept),
        (n) => n === 1,
      ),
    ).toBe(1);
    expect(await list(erased)).toBe(0);
  });
});
