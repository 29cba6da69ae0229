import {
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { status } from '@grpc/grpc-js';
import { storageV1 } from '@pulse/contracts';
import { BLOB_STORE } from '../src/media/blob-store';
import { MediaLifecycleService } from '../src/media/media-lifecycle.service';
import { MediaRepository } from '../src/media/media.cassandra.repository';
import type { S3BlobStore } from '../src/media/s3.blob-store';
import { backdate, content, createOwner, failure, getMedia, MiB, putMedia, sha256 } from './media-test-client';
import { dropKeyspace, stackConfig, startStorage, type StorageTestApp } from './storage-test-app';

const { STORAGE_TIER_ARCHIVE: ARCHIVE, STORAGE_TIER_STANDARD: STANDARD } = storageV1.StorageTier;
const { LIFECYCLE_ACTION_TYPE_ABORT_UPLOAD: ABORT_UPLOAD, LIFECYCLE_ACTION_TYPE_ARCHIVE: ARCHIVE_ACTION } = storageV1.LifecycleActionType;

// The stack's s3proxy (tools/stack/stack up s3proxy): its env when exported, else its defaults.
const S3 = {
  S3_ENDPOINT: stackConfig.S3_ENDPOINT || 'http://127.0.0.1:29000',
  S3_REGION: stackConfig.S3_REGION,
  S3_BUCKET: stackConfig.S3_BUCKET,
  S3_ACCESS_KEY_ID: stackConfig.S3_ACCESS_KEY_ID || 'pulse',
  S3_SECRET_ACCESS_KEY: stackConfig.S3_SECRET_ACCESS_KEY || 'pulse-stack-secret',
};

const RULES = JSON.stringify({
  rules: [
    { id: 'archive-cold', filter: { prefix: 'cold/' }, archiveAfterDays: 30 },
    { id: 'abort-partial', filter: { prefix: 'partial/' }, abortIncompleteUploadsAfterHours: 1 },
  ],
});

const OWNER = 's3-owner';
let storage: StorageTestApp;
let store: S3BlobStore;
let keyPrefix: string;

beforeAll(async () => {
  keyPrefix = `test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}/`;
  storage = await startStorage({
    ...S3,
    MEDIA_BACKEND: 's3',
    S3_KEY_PREFIX: keyPrefix,
    S3_CREATE_BUCKET: 'true',
    S3_PART_BYTES: String(5 * MiB),
    MEDIA_LIFECYCLE_RULES: RULES,
    MEDIA_SWEEPER: 'false',
  });
  store = storage.running.app.get(BLOB_STORE);
  await createOwner(storage, OWNER);
});

afterAll(async () => {
  if (store) {
    // leave the shared bucket as it was: delete this run's keys
    // (one by one: s3proxy wants a Content-MD5 on DeleteObjects, which SDK v3 no longer sends)
    for (const Key of await listKeys('')) await store.client.send(new DeleteObjectCommand({ Bucket: store.bucket, Key }));
  }
  await storage?.close();
  if (storage) await dropKeyspace(storage.keyspace);
});

/** Object keys under this run's prefix (relative to it), without the directory entries a file-system backed server lists. */
async function listKeys(under: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await store.client.send(
      new ListObjectsV2Command({ Bucket: store.bucket, Prefix: `${keyPrefix}${under}`, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).map((c) => c.Key!).filter((k) => !k.endsWith('/')));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}
const relativeKeys = async (under: string) => (await listKeys(under)).map((k) => k.slice(keyPrefix.length));

const put = (bytes: Buffer, metadata: Partial<storageV1.MediaUploadMetadata> = {}) =>
  putMedia(storage.client, { ownerId: OWNER, contentType: 'video/mp4', ...metadata }, bytes, MiB);
const sweep = (request: Partial<storageV1.RunLifecycleSweepRequest>) =>
  storage.client.call<storageV1.RunLifecycleSweepResponse>('RunLifecycleSweep', request);

describe('media on the S3 backend (s3proxy)', () => {
  it('streams 12 MiB through a multipart upload and a small object in one PUT; both come back byte for byte', async () => {
    const large = content(12 * MiB + 3);
    const small = content(70_000);
    const [bigInfo, smallInfo] = await Promise.all([put(large, { sizeBytes: large.length }), put(small)]);
    expect(bigInfo).toMatchObject({ sizeBytes: large.length, sha256: sha256(large), tier: STANDARD });

    const [bigDown, smallDown] = await Promise.all([
      getMedia(storage.client, { mediaId: bigInfo.mediaId }),
      getMedia(storage.client, { mediaId: smallInfo.mediaId }),
    ]);
    expect(sha256(bigDown.bytes)).toBe(sha256(large));
    expect(bigDown.info).toEqual(bigInfo);
    expect(bigDown.largestChunk).toBeLessThanOrEqual(MiB);
    expect(smallDown.bytes.equals(small)).toBe(true);
    const range = await getMedia(storage.client, { mediaId: bigInfo.mediaId, offset: 7 * MiB - 5, limit: 11 });
    expect(range.bytes.equals(large.subarray(7 * MiB - 5, 7 * MiB + 6))).toBe(true);

    // content lives at its address; nothing is left in the staging area
    const blobs = await relativeKeys('blobs/');
    expect(blobs.some((k) => k.includes(`/${bigInfo.sha256}-`))).toBe(true);
    expect(blobs.some((k) => k.includes(`/${smallInfo.sha256}-`))).toBe(true);
    expect(await relativeKeys('uploads/')).toEqual([]);
  });

  it('stores identical content once and deletes the S3 object with its last reference', async () => {
    const bytes = content(6 * MiB);
    const a = await put(bytes, { prefix: 'a/' });
    const b = await put(bytes, { prefix: 'b/' });
    const repo = storage.running.app.get(MediaRepository);
    const blob = await repo.blob(a.sha256, 'standard');
    expect(blob).toMatchObject({ refcount: 2, sizeBytes: bytes.length });
    const key = store.keyOf({ sha256: a.sha256, tier: 'standard', generation: blob!.generation });
    expect((await relativeKeys('blobs/')).filter((k) => k.includes(a.sha256))).toHaveLength(1);

    await storage.client.call('DeleteMedia', { mediaId: a.mediaId });
    expect((await repo.blob(a.sha256, 'standard'))?.refcount).toBe(1);
    await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key }));
    await storage.client.call('DeleteMedia', { mediaId: b.mediaId });
    expect(await repo.blob(a.sha256, 'standard')).toBeUndefined();
    const head = await failure(store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key })));
    expect((head as any).$metadata.httpStatusCode).toBe(404);
    expect((await failure(getMedia(storage.client, { mediaId: b.mediaId }))).code).toBe(status.NOT_FOUND);
  });

  it('lists its blobs for the media audit, which finds the bucket in step with the counts', async () => {
    const bytes = content(4096);
    const media = await put(bytes, { prefix: 'audit/' });
    const generation = (await storage.running.app.get(MediaRepository).blob(media.sha256, 'standard'))!.generation;
    const listed = [];
    for await (const blob of store.list('standard')) listed.push(blob);
    expect(listed).toContainEqual({
      address: { sha256: media.sha256, tier: 'standard', generation },
      writtenAt: expect.any(Date),
      sizeBytes: bytes.length,
    });
    const { audit } = await storage.client.call<storageV1.AuditMediaResponse>('AuditMedia', { dryRun: true });
    expect(audit).toMatchObject({ refcountsLow: 0, refcountsHigh: 0, contentsLeaked: 0, objectsWithoutContent: 0 });
    expect(Number(audit!.contentsChecked)).toBe(listed.length);
  });

  it('archives a back-dated object under archive/ and still reads it, reporting the ARCHIVE tier', async () => {
    const bytes = content(3 * MiB + 1);
    const stored = await put(bytes, { prefix: 'cold/' });
    await backdate(storage, stored.mediaId, 45);
    const dry = await sweep({ dryRun: true, prefix: 'cold/' });
    expect(dry.actions).toEqual([
      expect.objectContaining({ mediaId: stored.mediaId, type: ARCHIVE_ACTION, ruleId: 'archive-cold', applied: false }),
    ]);
    const run = await sweep({ dryRun: false, prefix: 'cold/' });
    expect(run.actions).toEqual([expect.objectContaining({ mediaId: stored.mediaId, type: ARCHIVE_ACTION, applied: true, error: '' })]);

    const download = await getMedia(storage.client, { mediaId: stored.mediaId });
    expect(download.info.tier).toBe(ARCHIVE);
    expect(sha256(download.bytes)).toBe(sha256(bytes));
    expect((await relativeKeys('archive/')).some((k) => k.includes(stored.sha256))).toBe(true);
    expect((await relativeKeys('blobs/')).some((k) => k.includes(stored.sha256))).toBe(false);
  });

  it('aborts a multipart upload abandoned for longer than its rule allows', async () => {
    const orphanKey = `${keyPrefix}uploads/partial/crashed-upload`;
    const { UploadId } = await store.client.send(new CreateMultipartUploadCommand({ Bucket: store.bucket, Key: orphanKey }));
    const lifecycle = storage.running.app.get(MediaLifecycleService);

    // an hour has not passed: nothing to do yet
    expect((await sweep({ dryRun: true, prefix: 'partial/' })).actions).toEqual([]);
    // as seen two hours from now (the server's upload clock cannot be turned back)
    const later = new Date(Date.now() + 2 * 3_600_000);
    const dry = await lifecycle.sweep({ dryRun: true, prefix: 'partial/', maxActions: 0, now: later });
    expect(dry.actions).toEqual([
      expect.objectContaining({ type: ABORT_UPLOAD, ruleId: 'abort-partial', objectKey: orphanKey, applied: false }),
    ]);
    const real = await lifecycle.sweep({ dryRun: false, prefix: 'partial/', maxActions: 0, now: later });
    expect(real.actions).toEqual([expect.objectContaining({ type: ABORT_UPLOAD, objectKey: orphanKey, applied: true })]);
    const left = await store.client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: `${keyPrefix}uploads/` }));
    expect((left.Uploads ?? []).map((u) => u.UploadId)).not.toContain(UploadId);
  }, 20_000);

  it('reports readiness of the bucket through the health endpoint', async () => {
    const ready = (await fetch(`${storage.running.httpUrl}/health/ready`).then((r) => r.json())) as { checks: Record<string, unknown> };
    expect(ready.checks.media).toMatchObject({ ok: true });
  });
});
