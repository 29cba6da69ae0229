import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type StorageClass,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  type BlobAddress,
  blobAddressOf,
  BlobMissingError,
  blobPath,
  type BlobStore,
  type ByteRange,
  type IncompleteUpload,
  type StagedUpload,
  type StoredBlob,
  type Tier,
} from './blob-store';

export interface S3Settings {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  keyPrefix: string;
  archiveStorageClass: StorageClass;
  partBytes: number;
  createBucket: boolean;
}

/**
 * Media content in an S3-compatible bucket, through the AWS SDK v3:
 *
 *     <S3_KEY_PREFIX>uploads/<prefix><upload id>      uploads being received (multipart, or one PUT)
 *     <S3_KEY_PREFIX>blobs/ab/cd/<sha256>-<generation>   STANDARD tier
 *     <S3_KEY_PREFIX>archive/ab/cd/<sha256>-<generation> ARCHIVE tier, in S3_ARCHIVE_STORAGE_CLASS
 *
 * An upload keeps at most one part (S3_PART_BYTES) in memory: small objects are PUT to their content
 * address in one request once the hash is known; larger ones go through a multipart upload to a staging
 * key and are then copied server-side. Checksums are sent only where S3 requires them, which is what
 * S3-compatible servers (s3proxy, MinIO, Ceph) understand.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  private readonly uploadsPrefix: string;

  constructor(private readonly settings: S3Settings) {
    this.client = new S3Client({
      endpoint: settings.endpoint || undefined,
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      credentials:
        settings.accessKeyId || settings.secretAccessKey
          ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
          : undefined,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    });
    this.uploadsPrefix = `${settings.keyPrefix}uploads/`;
  }

  get bucket(): string {
    return this.settings.bucket;
  }

  async init(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (!this.settings.createBucket)
        throw new Error(`S3 bucket "${this.bucket}" does not exist (set S3_CREATE_BUCKET=true to create it)`);
      try {
        await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
      } catch (createError) {
        if ((createError as Error).name !== 'BucketAlreadyOwnedByYou') throw createError;
      }
    }
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  keyOf(address: BlobAddress): string {
    return `${this.settings.keyPrefix}${address.tier === 'archive' ? 'archive' : 'blobs'}/${blobPath(address)}`;
  }

  async beginUpload(prefix: string): Promise<StagedUpload> {
    return new S3StagedUpload(this, `${this.uploadsPrefix}${prefix}${randomUUID()}`, this.settings.partBytes);
  }

  async *read(address: BlobAddress, range: ByteRange): AsyncIterable<Buffer> {
    const key = this.keyOf(address);
    const header =
      range.offset === 0 && range.length === undefined
        ? undefined
        : `bytes=${range.offset}-${range.length === undefined ? '' : range.offset + range.length - 1}`;
    let body: Readable;
    try {
      body = (await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: header }))).Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new BlobMissingError(key);
      throw error;
    }
    try {
      for await (const chunk of body) yield chunk as Buffer;
    } finally {
      body.destroy();
    }
  }

  async copy(from: BlobAddress, to: BlobAddress): Promise<void> {
    await this.copyKey(this.keyOf(from), this.keyOf(to), to.tier === 'archive' ? this.settings.archiveStorageClass : 'STANDARD');
  }

  /** Server-side copy (the object appears whole at the target or not at all). */
  async copyKey(source: string, target: string, storageClass: StorageClass): Promise<void> {
    try {
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.bucket, Key: target, CopySource: `${this.bucket}/${source}`, StorageClass: storageClass }),
      );
    } catch (error) {
      if (isNotFound(error)) throw new BlobMissingError(source);
      throw error;
    }
  }

  async delete(address: BlobAddress): Promise<void> {
    await this.deleteKey(this.keyOf(address));
  }

  async deleteKey(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async exists(address: BlobAddress): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(address) }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** The objects under a tier's prefix named like blobs. */
  async *list(tier: Tier): AsyncIterable<StoredBlob> {
    const prefix = `${this.settings.keyPrefix}${tier === 'archive' ? 'archive' : 'blobs'}/`;
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        const address = object.Key && blobAddressOf(object.Key.slice(prefix.length), tier);
        if (address) yield { address, writtenAt: object.LastModified ?? new Date(0), sizeBytes: Number(object.Size ?? 0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Multipart uploads initiated before `startedBefore`, then staged objects never copied to their address. */
  async *incompleteUploads(startedBefore: Date): AsyncIterable<IncompleteUpload> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: this.uploadsPrefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated > startedBefore) continue;
        const { Key, UploadId } = upload;
        yield {
          key: Key,
          prefix: this.mediaPrefixOf(Key),
          startedAt: upload.Initiated,
          sizeBytes: 0,
          discard: async () => void (await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }))),
        };
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);

    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.uploadsPrefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        // file-system backed servers list directories as keys ending in "/"
        if (!object.Key || object.Key.endsWith('/') || !object.LastModified || object.LastModified > startedBefore) continue;
        const key = object.Key;
        yield {
          key,
          prefix: this.mediaPrefixOf(key),
          startedAt: object.LastModified,
          sizeBytes: object.Size ?? 0,
          discard: () => this.deleteKey(key),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private mediaPrefixOf(stagingKey: string): string {
    const rest = stagingKey.slice(this.uploadsPrefix.length);
    return rest.includes('/') ? rest.slice(0, rest.lastIndexOf('/') + 1) : '';
  }
}

/** One upload: parts of S3_PART_BYTES go out as they fill; a small object stays in memory until commit. */
class S3StagedUpload implements StagedUpload {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private uploadId?: string;
  private readonly parts: { PartNumber: number; ETag: string }[] = [];
  private state: 'open' | 'finished' | 'committed' | 'aborted' = 'open';

  constructor(
    private readonly store: S3BlobStore,
    readonly key: string,
    private readonly partBytes: number,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    if (this.bufferedBytes >= this.partBytes) await this.flushPart();
  }

  async finish(): Promise<void> {
    if (this.uploadId) {
      if (this.bufferedBytes > 0) await this.flushPart();
      await this.store.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.store.bucket,
          Key: this.key,
          UploadId: this.uploadId,
          MultipartUpload: { Parts: this.parts },
        }),
      );
    }
    this.state = 'finished';
  }

  async commit(address: BlobAddress): Promise<void> {
    const target = this.store.keyOf(address);
    if (this.uploadId) {
      await this.store.copyKey(this.key, target, 'STANDARD');
      this.state = 'committed';
      await this.store.deleteKey(this.key);
    } else {
      const body = Buffer.concat(this.buffered);
      await this.store.client.send(
        new PutObjectCommand({ Bucket: this.store.bucket, Key: target, Body: body, ContentLength: body.length }),
      );
      this.state = 'committed';
    }
    this.buffered = [];
  }

  async abort(): Promise<void> {
    const was = this.state;
    this.state = 'aborted';
    this.buffered = [];
    if (!this.uploadId || was === 'aborted') return;
    if (was === 'open') {
      await this.store.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.store.bucket, Key: this.key, UploadId: this.uploadId }))
        .catch(() => undefined);
    } else {
      await this.store.deleteKey(this.key).catch(() => undefined);
    }
  }

  private async flushPart(): Promise<void> {
    if (!this.uploadId) {
      const created = await this.store.client.send(new CreateMultipartUploadCommand({ Bucket: this.store.bucket, Key: this.key }));
      this.uploadId = created.UploadId;
    }
    const body = Buffer.concat(this.buffered);
    this.buffered = [];
    this.bufferedBytes = 0;
    const PartNumber = this.parts.length + 1;
    const part = await this.store.client.send(
      new UploadPartCommand({
        Bucket: this.store.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber,
        Body: body,
        ContentLength: body.length,
      }),
    );
    this.parts.push({ PartNumber, ETag: part.ETag ?? '' });
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.name === 'NoSuchBucket' || e?.$metadata?.httpStatusCode === 404;
}
