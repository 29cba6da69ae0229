import { randomUUID } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { access, type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
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

const PART = '.part';

/**
 * Media content on a local (or mounted) file system:
 *
 *     MEDIA_ROOT/uploads/<prefix><upload id>.part   uploads being received
 *     MEDIA_ROOT/blobs/ab/cd/<sha256>-<generation>  STANDARD tier
 *     MEDIA_ARCHIVE_ROOT/ab/cd/<sha256>-<generation> ARCHIVE tier (default MEDIA_ROOT/archive)
 *     <tier root>/.partial/<id>.part                copies being made into a tier
 *
 * Every blob appears atomically: written to a temporary file, fsync'ed, renamed into place, and the
 * directory fsync'ed, so a crash leaves either the whole blob or a temporary file for the sweeper.
 */
export class FsBlobStore implements BlobStore {
  readonly kind = 'fs' as const;
  private readonly root: string;
  private readonly uploadsDir: string;
  private readonly tierRoots: Record<Tier, string>;

  constructor(root: string, archiveRoot: string) {
    this.root = resolve(root);
    this.uploadsDir = join(this.root, 'uploads');
    this.tierRoots = { standard: join(this.root, 'blobs'), archive: resolve(archiveRoot || join(this.root, 'archive')) };
  }

  async init(): Promise<void> {
    for (const dir of [this.uploadsDir, this.tierRoots.standard, this.tierRoots.archive]) await mkdir(dir, { recursive: true });
  }

  async check(): Promise<void> {
    for (const dir of [this.uploadsDir, this.tierRoots.standard, this.tierRoots.archive]) await access(dir, constants.W_OK);
  }

  keyOf(address: BlobAddress): string {
    return this.pathOf(address);
  }

  async beginUpload(prefix: string): Promise<StagedUpload> {
    const path = join(this.uploadsDir, `${prefix}${randomUUID()}${PART}`);
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'wx', 0o640);
    return new FsStagedUpload(path, handle, (address) => this.pathOf(address));
  }

  async *read(address: BlobAddress, range: ByteRange): AsyncIterable<Buffer> {
    const path = this.pathOf(address);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobMissingError(path);
      throw error;
    }
    try {
      const end = range.length === undefined ? undefined : range.offset + range.length - 1;
      const stream = handle.createReadStream({ start: range.offset, end, highWaterMark: 256 * 1024, autoClose: false });
      for await (const chunk of stream) yield chunk as Buffer;
    } finally {
      await handle.close();
    }
  }

  async copy(from: BlobAddress, to: BlobAddress): Promise<void> {
    const source = this.pathOf(from);
    const temp = join(this.tierRoots[to.tier], '.partial', `${randomUUID()}${PART}`);
    await mkdir(dirname(temp), { recursive: true });
    try {
      // flush: fsync before close, so the rename below publishes durable content
      await pipeline(createReadStream(source), createWriteStream(temp, { flags: 'wx', mode: 0o640, flush: true }));
      await moveIntoPlace(temp, this.pathOf(to));
    } catch (error) {
      await rm(temp, { force: true });
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobMissingError(source);
      throw error;
    }
  }

  async delete(address: BlobAddress): Promise<void> {
    await rm(this.pathOf(address), { force: true });
  }

  async exists(address: BlobAddress): Promise<boolean> {
    return stat(this.pathOf(address)).then(
      () => true,
      () => false,
    );
  }

  /** The files of a tier's root named like blobs (partial copies under .partial are not). */
  async *list(tier: Tier): AsyncIterable<StoredBlob> {
    const root = this.tierRoots[tier];
    let names: string[];
    try {
      names = await readdir(root, { recursive: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const name of names.sort()) {
      const address = blobAddressOf(name.split(sep).join('/'), tier);
      if (!address) continue;
      const info = await stat(join(root, name)).catch(() => undefined);
      if (info?.isFile()) yield { address, writtenAt: info.mtime, sizeBytes: info.size };
    }
  }

  /** Staged uploads and partial copies not written to since `startedBefore` (the file's mtime). */
  async *incompleteUploads(startedBefore: Date): AsyncIterable<IncompleteUpload> {
    const places = [
      { dir: this.uploadsDir, withPrefix: true },
      { dir: join(this.tierRoots.standard, '.partial'), withPrefix: false },
      { dir: join(this.tierRoots.archive, '.partial'), withPrefix: false },
    ];
    for (const { dir, withPrefix } of places) {
      let entries: string[];
      try {
        entries = (await readdir(dir, { recursive: true })).filter((name) => name.endsWith(PART));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      for (const name of entries.sort()) {
        const path = join(dir, name);
        const info = await stat(path).catch(() => undefined);
        if (!info?.isFile() || info.mtime > startedBefore) continue;
        const rel = relative(dir, path).split(sep).join('/');
        const prefix = withPrefix && rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/') + 1) : '';
        yield { key: path, prefix, startedAt: info.mtime, sizeBytes: info.size, discard: () => rm(path, { force: true }) };
      }
    }
  }

  async close(): Promise<void> {
    // nothing held open between calls
  }

  private pathOf(address: BlobAddress): string {
    return join(this.tierRoots[address.tier], ...blobPath(address).split('/'));
  }
}

class FsStagedUpload implements StagedUpload {
  private closed = false;
  private committed = false;

  constructor(
    readonly key: string,
    private readonly handle: FileHandle,
    private readonly pathOf: (address: BlobAddress) => string,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) offset += (await this.handle.write(chunk, offset)).bytesWritten;
  }

  async finish(): Promise<void> {
    await this.handle.sync();
    await this.close();
  }

  async commit(address: BlobAddress): Promise<void> {
    await moveIntoPlace(this.key, this.pathOf(address));
    this.committed = true;
  }

  async abort(): Promise<void> {
    await this.close().catch(() => undefined);
    if (!this.committed) await rm(this.key, { force: true });
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/** rename(2) into place (atomic within a file system), then fsync the directory so the name is durable. */
async function moveIntoPlace(temp: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  await rename(temp, target);
  const dir = await open(dirname(target), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
