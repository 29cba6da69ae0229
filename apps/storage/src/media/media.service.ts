import { status } from '@grpc/grpc-js';
import { Inject, Injectable } from '@nestjs/common';
import { storageV1 } from '@pulse/contracts';
import { grpcErrors, GrpcStatusError, LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { createHash, randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import { STORAGE_CONFIG, type StorageConfig } from '../config/storage.config';
import { toTimestamp } from '../shared/page-token';
import { type BlobAddress, BlobMissingError, BLOB_STORE, type BlobStore } from './blob-store';
import { MediaBlobs } from './media-blobs.service';
import { type MessageSink, rechunk, send } from './media-streams';
import { MediaRepository, type MediaRow } from './media.cassandra.repository';
import { checkMediaId, checkUploadMetadata, MAX_CHUNK_BYTES } from './media.validation';

/** Uploads, downloads and deletes of media objects; content goes through the configured BlobStore. */
@Injectable()
export class MediaService {
  private readonly bytesIn: Counter;
  private readonly bytesOut: Counter<'tier'>;
  private readonly deduplicated: Counter;

  constructor(
    private readonly repo: MediaRepository,
    private readonly blobs: MediaBlobs,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(STORAGE_CONFIG) private readonly config: StorageConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: ServiceMetrics,
  ) {
    this.bytesIn = new Counter({
      name: 'storage_media_bytes_received_total',
      help: 'Media content bytes received by PutMedia',
      registers: [metrics.registry],
    });
    this.bytesOut = new Counter({
      name: 'storage_media_bytes_sent_total',
      help: 'Media content bytes sent by GetMedia, by the tier read',
      labelNames: ['tier'],
      registers: [metrics.registry],
    });
    this.deduplicated = new Counter({
      name: 'storage_media_deduplicated_total',
      help: 'Uploads whose content was already stored (a reference was added instead of a copy)',
      registers: [metrics.registry],
    });
  }

  /**
   * PutMedia: metadata first, then content. The content is hashed as it streams to a staging place (never
   * held whole in memory), then referenced at its content address: stored there if new, dropped if the
   * same bytes are stored already.
   */
  put(messages: AsyncIterable<Partial<storageV1.PutMediaRequest>>): Promise<storageV1.MediaInfo> {
    return this.putContent(messages).catch(rethrowStoreError);
  }

  private async putContent(messages: AsyncIterable<Partial<storageV1.PutMediaRequest>>): Promise<storageV1.MediaInfo> {
    const iterator = messages[Symbol.asyncIterator]();
    try {
      const first = await iterator.next();
      if (first.done || !first.value.metadata) throw grpcErrors.invalidArgument('metadata', 'is required as the first message');
      const meta = checkUploadMetadata(first.value.metadata, {
        maxBytes: this.config.MEDIA_MAX_BYTES,
        allowedContentTypes: this.config.MEDIA_ALLOWED_CONTENT_TYPES,
      });
      if (!(await this.repo.ownerExists(meta.ownerId))) throw grpcErrors.notFound(`profile "${meta.ownerId}" (metadata.owner_id)`);

      const staged = await this.store.beginUpload(meta.prefix);
      try {
        const hash = createHash('sha256');
        let size = 0;
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
          const message = next.value;
          if (message.metadata) throw grpcErrors.invalidArgument('metadata', 'is allowed in the first message only');
          const chunk = message.chunk;
          if (!chunk || chunk.length === 0) throw grpcErrors.invalidArgument('chunk', 'must hold 1 byte to 1 MiB');
          if (chunk.length > MAX_CHUNK_BYTES)
            throw grpcErrors.invalidArgument('chunk', `${chunk.length} bytes exceeds 1 MiB (1048576 bytes)`);
          size += chunk.length;
          if (size > this.config.MEDIA_MAX_BYTES) {
            throw grpcErrors.resourceExhausted(`content exceeds the maximum object size of ${this.config.MEDIA_MAX_BYTES} bytes`);
          }
          if (meta.sizeBytes && size > meta.sizeBytes) {
            throw grpcErrors.invalidArgument('metadata.size_bytes', `announced ${meta.sizeBytes} bytes, more arrived`);
          }
          const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          hash.update(bytes);
          await staged.write(bytes);
          this.bytesIn.inc(bytes.length);
        }
        if (meta.sizeBytes && size !== meta.sizeBytes) {
          throw grpcErrors.invalidArgument('metadata.size_bytes', `announced ${meta.sizeBytes} bytes, received ${size}`);
        }
        const sha256 = hash.digest('hex');
        if (meta.sha256 && meta.sha256 !== sha256) {
          throw new GrpcStatusError(status.DATA_LOSS, `received content has SHA-256 ${sha256}, metadata.sha256 says ${meta.sha256}`);
        }
        await staged.finish();

        let stored = false;
        const address = await this.blobs.acquire(sha256, 'standard', size, async (target) => {
          await staged.commit(target);
          stored = true;
        });
        if (!stored) this.deduplicated.inc();
        const now = new Date();
        const row: MediaRow = {
          mediaId: randomUUID(),
          ownerId: meta.ownerId,
          contentType: meta.contentType,
          filename: meta.filename,
          prefix: meta.prefix,
          tags: meta.tags,
          sizeBytes: size,
          sha256,
          tier: 'standard',
          blobGeneration: address.generation,
          createdAt: now,
          tierChangedAt: now,
        };
        try {
          await this.repo.insert(row);
        } catch (error) {
          await this.blobs
            .release(address)
            .catch((err: unknown) => this.logger.warn({ err, sha256 }, 'could not release the reference of a failed upload'));
          throw error;
        }
        return toMediaInfo(row);
      } finally {
        await staged.abort();
      }
    } finally {
      await iterator.return?.();
    }
  }

  async info(mediaId: string): Promise<storageV1.MediaInfo> {
    return toMediaInfo(await this.find(mediaId));
  }

  /**
   * GetMedia: the info, then the content in MEDIA_CHUNK_BYTES pieces, written as fast as the client
   * reads (the call's buffer bounds memory). The first piece is read before the info is sent, so a
   * missing blob is an error status rather than a truncated stream; an archived object may take longer
   * here.
   */
  download(request: Partial<storageV1.GetMediaRequest>, sink: MessageSink): Promise<void> {
    return this.sendContent(request, sink).catch(rethrowStoreError);
  }

  private async sendContent(request: Partial<storageV1.GetMediaRequest>, sink: MessageSink): Promise<void> {
    const offset = Number(request.offset ?? 0);
    const limit = Number(request.limit ?? 0);
    for (let attempt = 0; ; attempt++) {
      const row = await this.find(request.mediaId);
      if (offset > 0 && offset >= row.sizeBytes) {
        throw new GrpcStatusError(status.OUT_OF_RANGE, `offset ${offset} is not below the object size ${row.sizeBytes}`);
      }
      const length = limit > 0 ? Math.min(limit, row.sizeBytes - offset) : row.sizeBytes - offset;
      const pieces = rechunk(this.store.read(addressOf(row), { offset, length }), this.config.MEDIA_CHUNK_BYTES)[Symbol.asyncIterator]();
      let first: IteratorResult<Buffer>;
      try {
        first = length > 0 ? await pieces.next() : { value: undefined, done: true };
      } catch (error) {
        // deleted or moved to another tier since the row was read: read the row again, once
        if (error instanceof BlobMissingError && attempt === 0) continue;
        if (error instanceof BlobMissingError) throw new GrpcStatusError(status.DATA_LOSS, `content of media "${row.mediaId}" is missing`);
        throw error;
      }
      if (row.tier === 'archive') this.logger.debug({ mediaId: row.mediaId }, 'reading from the archive tier');
      try {
        await send(sink, { info: toMediaInfo(row) });
        for (let piece = first; !piece.done; piece = await pieces.next()) {
          if (sink.cancelled) return;
          await send(sink, { chunk: piece.value });
          this.bytesOut.inc({ tier: row.tier }, piece.value.length);
        }
      } finally {
        await pieces.return?.();
      }
      return;
    }
  }

  /** DeleteMedia: the row goes first (only if unchanged since read), then its index entry and its blob reference. */
  async delete(mediaId: string): Promise<void> {
    try {
      for (let attempt = 0; attempt < 8; attempt++) {
        const row = await this.find(mediaId);
        if (await this.remove(row)) return;
      }
    } catch (error) {
      rethrowStoreError(error);
    }
    throw grpcErrors.aborted(`media "${mediaId}" keeps changing; retry`);
  }

  /** Removes one object as read; false when it changed (or vanished) in between. Also used by expiry. */
  async remove(row: MediaRow): Promise<boolean> {
    return (await this.removeReporting(row)) !== 'changed';
  }

  /**
   * `remove`, saying what became of the content: `deleted` with its last reference, `shared` when other objects
   * still read it (or its reference was not recorded), `changed` when the object changed or vanished in between.
   */
  async removeReporting(row: MediaRow): Promise<'deleted' | 'shared' | 'changed'> {
    if (!(await this.repo.deleteIfUnchanged(row))) return 'changed';
    await this.repo.removeFromDayIndex(row);
    const released = await this.blobs.release(addressOf(row));
    await this.repo.removeFromOwnerIndex(row);
    return released === 'deleted' ? 'deleted' : 'shared';
  }

  private async find(mediaId: string | undefined): Promise<MediaRow> {
    const id = checkMediaId(mediaId);
    const row = await this.repo.get(id);
    if (!row) throw grpcErrors.notFound(`media "${id}"`);
    return row;
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EHOSTUNREACH']);

/** Blob store failures as gRPC statuses: unreachable or failing (5xx) → UNAVAILABLE, a full disk → RESOURCE_EXHAUSTED. */
export function rethrowStoreError(error: unknown): never {
  if (error instanceof GrpcStatusError) throw error;
  const e = error as { code?: string; name?: string; message?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') throw grpcErrors.resourceExhausted('the media store is full');
  if (UNREACHABLE.has(e?.code ?? '') || e?.name === 'TimeoutError' || (e?.$metadata?.httpStatusCode ?? 0) >= 500) {
    throw grpcErrors.unavailable(`the media store is unavailable (${e?.code ?? e?.name ?? 'error'}); retry`);
  }
  throw error;
}

export function addressOf(row: MediaRow): BlobAddress {
  return { sha256: row.sha256, tier: row.tier, generation: row.blobGeneration };
}

export function toMediaInfo(row: MediaRow): storageV1.MediaInfo {
  return {
    mediaId: row.mediaId,
    ownerId: row.ownerId,
    contentType: row.contentType,
    filename: row.filename,
    prefix: row.prefix,
    tags: row.tags,
    sizeBytes: row.sizeBytes,
    sha256: row.sha256,
    tier: row.tier === 'archive' ? storageV1.StorageTier.STORAGE_TIER_ARCHIVE : storageV1.StorageTier.STORAGE_TIER_STANDARD,
    createdAt: toTimestamp(row.createdAt),
    tierChangedAt: toTimestamp(row.tierChangedAt),
  };
}
