import { status } from '@grpc/grpc-js';
import { storageV1 } from '@pulse/contracts';
import { decodeFieldViolations } from '@pulse/platform';
import { eventually } from '@pulse/platform/testing';
import { mkdtempSync } from 'node:fs';
import { mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLOB_STORE, type BlobStore } from '../src/media/blob-store';
import { MediaRepository } from '../src/media/media.cassandra.repository';
import { backdate, content, createOwner, DAY_MS, failure, getMedia, MiB, putMedia, putMessages, sha256 } from './media-test-client';
import { dropKeyspace, startStorage, type StorageTestApp } from './storage-test-app';

const { STORAGE_TIER_ARCHIVE: ARCHIVE, STORAGE_TIER_STANDARD: STANDARD } = storageV1.StorageTier;
const {
  LIFECYCLE_ACTION_TYPE_ABORT_UPLOAD: ABORT_UPLOAD,
  LIFECYCLE_ACTION_TYPE_ARCHIVE: ARCHIVE_ACTION,
  LIFECYCLE_ACTION_TYPE_EXPIRE: EXPIRE,
} = storageV1.LifecycleActionType;

const RULES = `
rules:
  - id: expire-scratch
    filter: { prefix: "scratch/" }
    expireAfterDays: 7
  - id: cold-storage
    filter: { prefix: "cold/" }
    archiveAfterDays: 30
    expireAfterDays: 365
  - id: expire-ephemeral
    filter: { tags: [ephemeral] }
    expireAfterDays: 1
  - id: abort-stale-uploads
    filter: { prefix: "partial/" }
    abortIncompleteUploadsAfterHours: 24
`;

const OWNER = 'media-owner';
let storage: StorageTestApp;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'pulse-media-'));
  storage = await startStorage({
    MEDIA_BACKEND: 'fs',
    MEDIA_ROOT: root,
    MEDIA_MAX_BYTES: String(8 * MiB),
    MEDIA_ALLOWED_CONTENT_TYPES: 'image/*,video/mp4',
    MEDIA_LIFECYCLE_RULES: RULES,
    MEDIA_SWEEPER: 'false',
  });
  await createOwner(storage, OWNER);
});

afterAll(async () => {
  await storage?.close();
  if (storage) await dropKeyspace(storage.keyspace);
  if (root) await rm(root, { recursive: true, force: true });
});

const put = (bytes: Buffer, metadata: Partial<storageV1.MediaUploadMetadata> = {}) =>
  putMedia(storage.client, { ownerId: OWNER, contentType: 'image/png', ...metadata }, bytes);
const info = (mediaId: string) => storage.client.call<storageV1.GetMediaInfoResponse>('GetMediaInfo', { mediaId }).then((r) => r.media!);
const sweep = (request: Partial<storageV1.RunLifecycleSweepRequest>) =>
  storage.client.call<storageV1.RunLifecycleSweepResponse>('RunLifecycleSweep', request);
const filesUnder = async (dir: string) =>
  (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);

describe('media on the file system backend', () => {
  it('streams 6 MiB up in chunks and back down: same SHA-256, in chunks of at most 1 MiB, and by byte range', async () => {
    const bytes = content(6 * MiB + 12_345);
    const stored = await put(bytes, {
      filename: 'cat.png',
      prefix: 'pics/',
      tags: ['cat', 'cute'],
      sizeBytes: bytes.length,
      sha256: sha256(bytes),
    });
    expect(stored).toMatchObject({ ownerId: OWNER, contentType: 'image/png', filename: 'cat.png', prefix: 'pics/', tags: ['cat', 'cute'] });
    expect(stored).toMatchObject({ sizeBytes: bytes.length, sha256: sha256(bytes), tier: STANDARD });

    const download = await getMedia(storage.client, { mediaId: stored.mediaId });
    expect(download.info).toEqual(stored);
    expect(sha256(download.bytes)).toBe(sha256(bytes));
    expect(download.largestChunk).toBeLessThanOrEqual(MiB);

    const range = await getMedia(storage.client, { mediaId: stored.mediaId, offset: 5 * MiB, limit: 100_000 });
    expect(range.bytes.equals(bytes.subarray(5 * MiB, 5 * MiB + 100_000))).toBe(true);
    const tail = await getMedia(storage.client, { mediaId: stored.mediaId, offset: bytes.length - 10 });
    expect(tail.bytes.equals(bytes.subarray(bytes.length - 10))).toBe(true);
    const beyond = await failure(getMedia(storage.client, { mediaId: stored.mediaId, offset: bytes.length }));
    expect(beyond.code).toBe(status.OUT_OF_RANGE);

    expect(await filesUnder(join(root, 'uploads'))).toEqual([]);
  });

  it('stores identical content once: two uploads share one blob (refcount 2); deleting one keeps it, deleting both removes it', async () => {
    const bytes = content(300_000);
    const first = await put(bytes, { filename: 'a.png' });
    const second = await put(bytes, { filename: 'b.png', prefix: 'other/' });
    expect(second.mediaId).not.toBe(first.mediaId);
    expect(second.sha256).toBe(first.sha256);

    const repo = storage.running.app.get(MediaRepository);
    const store = storage.running.app.get<BlobStore>(BLOB_STORE);
    const blob = await repo.blob(first.sha256, 'standard');
    expect(blob).toMatchObject({ refcount: 2, sizeBytes: bytes.length });
    const address = { sha256: first.sha256, tier: 'standard' as const, generation: blob!.generation };
    expect((await filesUnder(join(root, 'blobs'))).filter((f) => f.startsWith(first.sha256))).toHaveLength(1);

    await storage.client.call('DeleteMedia', { mediaId: first.mediaId });
    expect((await repo.blob(first.sha256, 'standard'))?.refcount).toBe(1);
    expect(await store.exists(address)).toBe(true);
    expect(sha256((await getMedia(storage.client, { mediaId: second.mediaId })).bytes)).toBe(sha256(bytes));

    await storage.client.call('DeleteMedia', { mediaId: second.mediaId });
    expect(await repo.blob(first.sha256, 'standard')).toBeUndefined();
    expect(await store.exists(address)).toBe(false);
    expect((await failure(info(second.mediaId))).code).toBe(status.NOT_FOUND);
  });

  it('refuses bad metadata with INVALID_ARGUMENT naming the field, and content over MEDIA_MAX_BYTES with RESOURCE_EXHAUSTED', async () => {
    const small = content(1000);
    const cases: [Partial<storageV1.MediaUploadMetadata>, string][] = [
      [{ contentType: 'application/x-msdownload' }, 'metadata.content_type'],
      [{ contentType: 'video/webm' }, 'metadata.content_type'],
      [{ contentType: '' }, 'metadata.content_type'],
      [{ sizeBytes: 8 * MiB + 1 }, 'metadata.size_bytes'],
      [{ sizeBytes: 999 }, 'metadata.size_bytes'],
      [{ filename: 'a/b.png' }, 'metadata.filename'],
      [{ prefix: 'no-slash' }, 'metadata.prefix'],
      [{ tags: ['ok', 'Not OK'] }, 'metadata.tags[1]'],
      [{ ownerId: '' }, 'metadata.owner_id'],
    ];
    for (const [metadata, field] of cases) {
      const error = await failure(put(small, metadata));
      expect({ field, code: error.code }).toEqual({ field, code: status.INVALID_ARGUMENT });
      expect(decodeFieldViolations(error.metadata)[0].field).toBe(field);
    }
    expect(decodeFieldViolations((await failure(putMessages(storage.client, [{ chunk: small }]))).metadata)[0].field).toBe('metadata');
    const twice = await failure(
      putMessages(storage.client, [{ metadata: { ownerId: OWNER, contentType: 'image/png' } as any }, { metadata: {} as any }]),
    );
    expect(decodeFieldViolations(twice.metadata)[0].field).toBe('metadata');

    const tooBig = await failure(put(content(8 * MiB + 1)));
    expect(tooBig.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(tooBig.details).toMatch(/maximum object size of 8388608 bytes/);
    const wrongHash = await failure(put(small, { sha256: sha256(content(10)) }));
    expect(wrongHash.code).toBe(status.DATA_LOSS);
    const unknownOwner = await failure(put(small, { ownerId: 'nobody-here' }));
    expect(unknownOwner.code).toBe(status.NOT_FOUND);

    expect(await filesUnder(join(root, 'uploads'))).toEqual([]);
  });

  it('answers NOT_FOUND for GetMedia, GetMediaInfo and DeleteMedia of an unknown id', async () => {
    const mediaId = '00000000-0000-4000-8000-000000000000';
    expect((await failure(getMedia(storage.client, { mediaId }))).code).toBe(status.NOT_FOUND);
    expect((await failure(info(mediaId))).code).toBe(status.NOT_FOUND);
    expect((await failure(storage.client.call('DeleteMedia', { mediaId }))).code).toBe(status.NOT_FOUND);
    const bad = await failure(info('../etc/passwd'));
    expect(decodeFieldViolations(bad.metadata)[0].field).toBe('media_id');
  });

  it('sweeps back-dated objects: a dry run reports expiry and archiving and changes nothing; the real run carries them out', async () => {
    const scratch = await put(content(1000), { prefix: 'scratch/' });
    const cold = await put(content(2000), { prefix: 'cold/' });
    const coolish = await put(content(3000), { prefix: 'cold/' });
    const ephemeral = await put(content(4000), { prefix: 'pics/', tags: ['ephemeral', 'x'] });
    const ancient = await put(content(5000), { prefix: 'cold/' });
    const fresh = await put(content(6000), { prefix: 'scratch/' });
    await backdate(storage, scratch.mediaId, 10);
    await backdate(storage, cold.mediaId, 40);
    await backdate(storage, coolish.mediaId, 5);
    await backdate(storage, ephemeral.mediaId, 2);
    await backdate(storage, ancient.mediaId, 400);
    const mine = new Set([scratch, cold, coolish, ephemeral, ancient, fresh].map((m) => m.mediaId));
    const summary = (r: storageV1.RunLifecycleSweepResponse) =>
      r.actions
        .filter((a) => mine.has(a.mediaId))
        .map((a) => ({ id: a.mediaId, type: a.type, rule: a.ruleId, applied: a.applied, error: a.error }))
        .sort((a, b) => a.id.localeCompare(b.id));
    const expected = (applied: boolean) =>
      [
        { id: scratch.mediaId, type: EXPIRE, rule: 'expire-scratch', applied, error: '' },
        { id: cold.mediaId, type: ARCHIVE_ACTION, rule: 'cold-storage', applied, error: '' },
        { id: ephemeral.mediaId, type: EXPIRE, rule: 'expire-ephemeral', applied, error: '' },
        { id: ancient.mediaId, type: EXPIRE, rule: 'cold-storage', applied, error: '' },
      ].sort((a, b) => a.id.localeCompare(b.id));

    const dry = await sweep({ dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(summary(dry)).toEqual(expected(false));
    expect(dry.actions.find((a) => a.mediaId === cold.mediaId)).toMatchObject({ objectKey: `cold/${cold.mediaId}`, sizeBytes: 2000 });
    for (const m of mine) expect((await info(m)).tier).toBe(STANDARD);

    const limited = await sweep({ dryRun: true, prefix: 'cold/', maxActions: 1 });
    expect(limited).toMatchObject({ truncated: true, actions: [expect.objectContaining({ applied: false })] });

    const real = await sweep({ dryRun: false });
    expect(summary(real)).toEqual(expected(true));
    for (const gone of [scratch, ephemeral, ancient]) expect((await failure(info(gone.mediaId))).code).toBe(status.NOT_FOUND);
    expect((await info(cold.mediaId)).tier).toBe(ARCHIVE);
    expect((await info(coolish.mediaId)).tier).toBe(STANDARD);
    expect((await info(fresh.mediaId)).tier).toBe(STANDARD);

    const again = await sweep({ dryRun: false, prefix: 'cold/' });
    expect(summary(again)).toEqual([]);
  });

  it('reads an archived object from the archive tier and reports the tier and when it changed', async () => {
    const bytes = content(2 * MiB + 7);
    const stored = await put(bytes, { prefix: 'cold/archive-read/' });
    await backdate(storage, stored.mediaId, 31);
    const run = await sweep({ dryRun: false, prefix: 'cold/archive-read/' });
    expect(run.actions).toEqual([expect.objectContaining({ mediaId: stored.mediaId, type: ARCHIVE_ACTION, applied: true })]);

    const download = await getMedia(storage.client, { mediaId: stored.mediaId });
    expect(download.info.tier).toBe(ARCHIVE);
    expect(Number(download.info.tierChangedAt!.seconds)).toBeGreaterThan(Number(download.info.createdAt!.seconds));
    expect(sha256(download.bytes)).toBe(sha256(bytes));
    const range = await getMedia(storage.client, { mediaId: stored.mediaId, offset: MiB, limit: 10 });
    expect(range.bytes.equals(bytes.subarray(MiB, MiB + 10))).toBe(true);

    // the content moved: present in the archive directory, gone from the standard one
    expect((await filesUnder(join(root, 'archive'))).some((f) => f.startsWith(stored.sha256))).toBe(true);
    expect((await filesUnder(join(root, 'blobs'))).some((f) => f.startsWith(stored.sha256))).toBe(false);
    const repo = storage.running.app.get(MediaRepository);
    expect(await repo.blob(stored.sha256, 'standard')).toBeUndefined();
    expect(await repo.blob(stored.sha256, 'archive')).toMatchObject({ refcount: 1 });

    await storage.client.call('DeleteMedia', { mediaId: stored.mediaId });
    expect((await filesUnder(join(root, 'archive'))).some((f) => f.startsWith(stored.sha256))).toBe(false);
  });

  it('discards an upload abandoned for longer than its rule allows and keeps a recent one', async () => {
    const dir = join(root, 'uploads', 'partial');
    await mkdir(dir, { recursive: true });
    const stale = join(dir, 'abandoned-upload.part');
    const recent = join(dir, 'recent-upload.part');
    await writeFile(stale, content(1234));
    await writeFile(recent, content(10));
    const twoDaysAgo = new Date(Date.now() - 2 * DAY_MS);
    await utimes(stale, twoDaysAgo, twoDaysAgo);

    const dry = await sweep({ dryRun: true, prefix: 'partial/' });
    expect(dry.actions).toEqual([
      { type: ABORT_UPLOAD, ruleId: 'abort-stale-uploads', mediaId: '', objectKey: stale, sizeBytes: 1234, applied: false, error: '' },
    ]);
    expect((await readdir(dir)).sort()).toEqual(['abandoned-upload.part', 'recent-upload.part']);

    const real = await sweep({ dryRun: false, prefix: 'partial/' });
    expect(real.actions).toEqual([expect.objectContaining({ type: ABORT_UPLOAD, objectKey: stale, applied: true })]);
    expect(await readdir(dir)).toEqual(['recent-upload.part']);
    await rm(recent);
  });

  it('removes the staged file of an upload the client cancels', async () => {
    const call = (storage.client.raw as any).PutMedia(storage.client.metadata(), () => undefined);
    call.write({ metadata: { ownerId: OWNER, contentType: 'image/png' } });
    call.write({ chunk: content(MiB) });
    const staged = () => filesUnder(join(root, 'uploads'));
    expect(await eventually(staged, (files) => files?.length === 1)).toHaveLength(1);
    call.cancel();
    expect(await eventually(staged, (files) => files?.length === 0)).toEqual([]);
  });
});

describe('the scheduled lifecycle sweep', () => {
  let scheduled: StorageTestApp;

  beforeAll(async () => {
    scheduled = await startStorage({
      MEDIA_BACKEND: 'fs',
      MEDIA_ROOT: join(root, 'scheduled'),
      MEDIA_LIFECYCLE_RULES: RULES,
      MEDIA_SWEEPER: 'true',
      MEDIA_SWEEP_INTERVAL: '200ms',
    });
    await createOwner(scheduled, OWNER);
  });

  afterAll(async () => {
    await scheduled?.close();
    if (scheduled) await dropKeyspace(scheduled.keyspace);
  });

  it('expires a back-dated object on its own, every MEDIA_SWEEP_INTERVAL', async () => {
    const stored = await putMedia(scheduled.client, { ownerId: OWNER, contentType: 'image/png', prefix: 'scratch/' }, content(500));
    await backdate(scheduled, stored.mediaId, 8);
    const code = () =>
      scheduled.client.call('GetMediaInfo', { mediaId: stored.mediaId }).then(
        () => undefined,
        (error: { code: number }) => error.code,
      );
    expect(await eventually(code, (c) => c === status.NOT_FOUND)).toBe(status.NOT_FOUND);
  });
});
