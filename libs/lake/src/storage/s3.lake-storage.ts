import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { LakeObject, LakeStorage } from './lake-storage';

export interface S3LakeSettings {
  endpoint?: string;
  region: string;
  bucket: string;
  /** Key prefix of the lake root inside the bucket, e.g. `lake/`; empty for the bucket root. */
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /** Directory for staged uploads and cached downloads; a fresh temporary one when absent. */
  cacheDir?: string;
  createBucket?: boolean;
}

/**
 * A lake in an S3-compatible bucket. Log commits are PUT with `If-None-Match: *` (S3 conditional
 * writes: AWS S3, MinIO, R2, GCS), preceded by a HEAD so a replayed commit is refused even by servers
 * that ignore the header; concurrent writers need a server that honours it (docs/decisions/0010).
 * DuckDB writes data files into a local staging directory and they are uploaded before the commit.
 */
export class S3LakeStorage implements LakeStorage {
  readonly location: string;
  private readonly client: S3Client;
  private readonly prefix: string;
  private cacheDir?: string;

  constructor(private readonly settings: S3LakeSettings) {
    this.prefix = settings.prefix && !settings.prefix.endsWith('/') ? `${settings.prefix}/` : settings.prefix;
    this.location = `s3://${settings.bucket}/${this.prefix}`;
    this.client = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async init(): Promise<this> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.settings.bucket }));
    } catch (error) {
      if (!this.settings.createBucket) throw error;
      await this.client.send(new CreateBucketCommand({ Bucket: this.settings.bucket }));
    }
    return this;
  }

  private async cache(): Promise<string> {
    if (!this.cacheDir) {
      this.cacheDir = this.settings.cacheDir ?? (await mkdtemp(join(tmpdir(), 'pulse-lake-')));
      await mkdir(this.cacheDir, { recursive: true });
    }
    return this.cacheDir;
  }

  async read(key: string): Promise<Buffer | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.prefix + key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async write(key: string, data: Buffer | string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.settings.bucket, Key: this.prefix + key, Body: data }));
  }

  async putIfAbsent(key: string, data: Buffer | string): Promise<boolean> {
    const Key = this.prefix + key;
    const exists = await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key })).then(
      () => true,
      (error) => {
        if (isNotFound(error)) return false;
        throw error;
      },
    );
    if (exists) return false;
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.settings.bucket, Key, Body: data, IfNoneMatch: '*' }));
      return true;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 412 || status === 409) return false;
      throw error;
    }
  }

  async list(prefix: string): Promise<LakeObject[]> {
    const out: LakeObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        // Directory markers (filesystem-backed servers list them) are not objects of the lake.
        if (o.Key!.endsWith('/')) continue;
        out.push({ key: o.Key!.slice(this.prefix.length), size: o.Size ?? 0, modifiedMs: o.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    // One DELETE per object (8 at a time): batch DeleteObjects needs a Content-MD5 that not every
    // S3-compatible server accepts from the SDK's default checksum.
    for (let i = 0; i < keys.length; i += 8) {
      await Promise.all(
        keys.slice(i, i + 8).map((k) => this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.prefix + k }))),
      );
    }
  }

  async stagingDir(keyPrefix: string): Promise<string> {
    const dir = join(await this.cache(), 'staging', keyPrefix);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  async publishStaged(localPath: string, key: string): Promise<void> {
    const { size } = await stat(localPath);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.settings.bucket,
        Key: this.prefix + key,
        Body: createReadStream(localPath),
        ContentLength: size,
      }),
    );
    await rm(localPath, { force: true });
  }

  async dropStaging(keyPrefix: string): Promise<void> {
    await rm(join(await this.cache(), 'staging', keyPrefix), { recursive: true, force: true });
  }

  async localPath(key: string): Promise<string> {
    // Data files are immutable (unique names), so a cached copy never goes stale.
    const name = createHash('sha256').update(key).digest('hex').slice(0, 32);
    const path = join(await this.cache(), 'objects', `${name}-${key.split('/').pop()}`);
    if (
      await stat(path).then(
        () => true,
        () => false,
      )
    )
      return path;
    const data = await this.read(key);
    if (!data) throw new Error(`lake object ${key} does not exist in ${this.location}`);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(`${path}.part`, data);
    await rename(`${path}.part`, path);
    return path;
  }

  close(): void {
    this.client.destroy();
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
