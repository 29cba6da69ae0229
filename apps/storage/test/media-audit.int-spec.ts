import { storageV1 } from '@pulse/contracts';
import { stackCassandraClient } from '@pulse/platform/testing';
import type { Client as CassandraClient } from 'cassandra-driver';
import { mkdtempSync } from 'node:fs';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLOB_STORE, blobPath, type BlobStore } from '../src/media/blob-store';
import { MediaRepository } from '../src/media/media.cassandra.repository';
import { content, createOwner, putMedia, sha256 } from './media-test-client';
import { dropKeyspace, startStorage, type StorageTestApp } from './storage-test-app';

// The media audit as an operator runs it (AuditMedia, admin) over a file-system blob store of its own, after the
// failures the write order allows (a count one too high, content left behind) and those it should never see.
const OWNER = 'audit-owner';
let storage: StorageTestApp;
let root: string;
let cql: CassandraClient;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'pulse-media-audit-'));
  storage = await startStorage({ MEDIA_BACKEND: 'fs', MEDIA_ROOT: root, MEDIA_SWEEPER: 'false', STORAGE_RECONCILE_INTERVAL: '0s' });
  cql = stackCassandraClient({ keyspace: storage.keyspace });
  await createOwner(storage, OWNER);
}, 120_000);

afterAll(async () => {
  await cql?.shutdown();
  await storage?.close();
  if (storage) await dropKeyspace(storage.keyspace);
  await rm(root, { recursive: true, force: true });
});

const audit = async (dryRun: boolean) => (await storage.client.call<storageV1.AuditMediaResponse>('AuditMedia', { dryRun })).audit!;
const put = (bytes: Buffer) => putMedia(storage.client, { ownerId: OWNER, contentType: 'image/png', filename: 'a.png' }, bytes);

describe('AuditMedia', () => {
  it('raises counts below their readers, deletes content nothing counts, reports surplus counts and lost content', async () => {
    const repo = storage.running.app.get(MediaRepository);
    const store = storage.running.app.get<BlobStore>(BLOB_STORE);
    const setCount = (sha: string, n: number) =>
      cql.execute('UPDATE blobs_by_sha256 SET refcount = ? WHERE sha256 = ? AND tier = 1', [n, sha], { prepare: true });

    // Shared content read by two objects, its count down to 1: a delete of one would remove the other's content.
    const shared = content(2048);
    const a = await put(shared);
    await put(shared);
    await setCount(sha256(shared), 1);
    // A count one too high (an upload that died between its count and its object).
    const single = content(1024);
    await put(single);
    await setCount(sha256(single), 2);
    // Content nothing counts, written two hours ago (a copy left by a crash), and one written just now.
    const leaked = { sha256: sha256(content(10)), tier: 'standard' as const, generation: 'aaaaaaaaaaaa' };
    const fresh = { sha256: sha256(content(10)), tier: 'standard' as const, generation: 'bbbbbbbbbbbb' };
    for (const address of [leaked, fresh]) {
      const path = join(root, 'blobs', ...blobPath(address).split('/'));
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, 'left behind');
    }
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(join(root, 'blobs', ...blobPath(leaked).split('/')), twoHoursAgo, twoHoursAgo);
    // An object whose content is gone from the store.
    const lostBytes = content(512);
    const lost = await put(lostBytes);
    const lostRow = (await repo.get(lost.mediaId))!;
    await store.delete({ sha256: lostRow.sha256, tier: lostRow.tier, generation: lostRow.blobGeneration });

    const expected = {
      objectsChecked: 4,
      blobRowsChecked: 3,
      refcountsLow: 1,
      refcountsHigh: 1,
      contentsLeaked: 1,
      objectsWithoutContent: 1,
    };
    const dry = await audit(true);
    expect(dry).toMatchObject({ ...expected, contentsChecked: 4, lostMediaIds: [lost.mediaId], dryRun: true });
    expect((await repo.blob(sha256(shared), 'standard'))?.refcount).toBe(1);
    expect(await store.exists(leaked)).toBe(true);

    const repaired = await audit(false);
    expect(repaired).toMatchObject({ ...expected, lostMediaIds: [lost.mediaId], dryRun: false });
    expect((await repo.blob(sha256(shared), 'standard'))?.refcount).toBe(2);
    expect(await store.exists(leaked)).toBe(false);
    expect(await store.exists(fresh)).toBe(true);
    // The surplus count is left: the content stays.
    expect((await repo.blob(sha256(single), 'standard'))?.refcount).toBe(2);

    // With its count right, deleting one reader of the shared content leaves the other readable.
    await storage.client.call('DeleteMedia', { mediaId: a.mediaId });
    expect((await repo.blob(sha256(shared), 'standard'))?.refcount).toBe(1);
    expect(await audit(false)).toMatchObject({ refcountsLow: 0, contentsLeaked: 0, refcountsHigh: 1, objectsWithoutContent: 1 });
  }, 120_000);
});
