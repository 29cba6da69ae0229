/**
 * The port every media backend implements. Content is addressed by its SHA-256; a `generation` tells
 * apart successive lives of the same content (stored, deleted when unreferenced, stored again), so
 * a late delete of an old life can never remove a new one. Keys never change once written: a blob is
 * written once, read many times and deleted once.
 */
export const BLOB_STORE = Symbol('BLOB_STORE');

export type Tier = 'standard' | 'archive';

export interface BlobAddress {
  sha256: string;
  tier: Tier;
  generation: string;
}

export interface ByteRange {
  offset: number;
  /** Bytes from offset; undefined means to the end. */
  length?: number;
}

/** An upload being received: content goes to a temporary place until `commit`. */
export interface StagedUpload {
  /** Backend key of the temporary content (reported by lifecycle sweeps). */
  readonly key: string;
  /** Appends content; resolves once the backend took it (so callers apply backpressure by awaiting). */
  write(chunk: Buffer): Promise<void>;
  /** All content received: flush and make it durable in the staging place. */
  finish(): Promise<void>;
  /** Moves the finished content to its content address (atomically: readers see all of it or nothing). */
  commit(address: BlobAddress): Promise<void>;
  /** Discards the staged content; safe to call at any point and more than once. */
  abort(): Promise<void>;
}

/** Content left behind by an upload that never completed (a crash, a lost client). */
export interface IncompleteUpload {
  key: string;
  /** The media prefix the upload was for ('' for none). */
  prefix: string;
  startedAt: Date;
  sizeBytes: number;
  discard(): Promise<void>;
}

export interface BlobStore {
  readonly kind: 'fs' | 's3';
  /** Prepares the backend (directories, bucket); called once at start. */
  init(): Promise<void>;
  /** Readiness: throws when the backend cannot be used. */
  check(): Promise<void>;
  beginUpload(prefix: string): Promise<StagedUpload>;
  /** Streams a blob's content; rejects with BlobMissingError when there is no such blob. */
  read(address: BlobAddress, range: ByteRange): AsyncIterable<Buffer>;
  /** Copies a blob to another address (e.g. into the archive tier), atomically. */
  copy(from: BlobAddress, to: BlobAddress): Promise<void>;
  /** Deletes a blob; no error when it is already gone. */
  delete(address: BlobAddress): Promise<void>;
  exists(address: BlobAddress): Promise<boolean>;
  /** Uploads started at or before `startedBefore` that are still staged. */
  incompleteUploads(startedBefore: Date): AsyncIterable<IncompleteUpload>;
  /** Every blob stored in a tier (not staged uploads or partial copies), for audits: a full listing. */
  list(tier: Tier): AsyncIterable<StoredBlob>;
  /** Backend key of a blob (for reports and logs). */
  keyOf(address: BlobAddress): string;
  close(): Promise<void>;
}

export class BlobMissingError extends Error {
  constructor(readonly key: string) {
    super(`blob ${key} is missing`);
    this.name = 'BlobMissingError';
  }
}

/** A blob as the backend lists it. */
export interface StoredBlob {
  address: BlobAddress;
  /** When it was written (a blob is never rewritten). */
  writtenAt: Date;
  sizeBytes: number;
}

/** The address of a blob from its path under a tier (`ab/cd/<sha256>-<generation>`); undefined for anything else. */
export function blobAddressOf(path: string, tier: Tier): BlobAddress | undefined {
  const m = /^([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{64})-([A-Za-z0-9_-]+)$/.exec(path);
  if (!m || m[3].slice(0, 2) !== m[1] || m[3].slice(2, 4) !== m[2]) return undefined;
  return { sha256: m[3], tier, generation: m[4] };
}

/** `ab/cd/<sha256>-<generation>`: two levels of fan-out keep directories and listings small. */
export function blobPath(address: BlobAddress): string {
  const { sha256, generation } = address;
  return `${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}-${generation}`;
}
