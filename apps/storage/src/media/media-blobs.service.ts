import { Inject, Injectable } from '@nestjs/common';
import { grpcErrors, LOGGER, type Logger } from '@pulse/platform';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BlobAddress, BLOB_STORE, type BlobStore, type Tier } from './blob-store';
import { MediaRepository } from './media.cassandra.repository';

const MAX_ATTEMPTS = 16;

/**
 * References to content-addressed blobs. Each (sha256, tier) has at most one live blob, named by a
 * generation; its row in blobs_by_sha256 counts the media objects reading it. Counts move only by
 * compare-and-set, and the row of the last reference is deleted before its blob, so:
 *
 * - two uploads of the same bytes store them once (the loser of the insert race drops its copy);
 * - an upload racing the delete of the last reference either bumps the count first (the delete then
 *   fails its condition and decrements instead) or finds no row and stores a new generation, which the
 *   late delete of the old generation cannot touch.
 *
 * A crash between the steps can leave an unreferenced blob or a count one too high (never a media object
 * without its content): the order of writes makes every partial failure a leak, never a loss.
 */
@Injectable()
export class MediaBlobs {
  constructor(
    private readonly repo: MediaRepository,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Adds a reference to `sha256` in `tier`. When no copy exists there, `materialize(address)` writes one
   * (at most once per call); a copy written but not needed in the end is deleted.
   */
  async acquire(sha256: string, tier: Tier, sizeBytes: number, materialize: (address: BlobAddress) => Promise<void>): Promise<BlobAddress> {
    let written: BlobAddress | undefined;
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const row = await this.repo.blob(sha256, tier);
        if (row) {
          if (await this.repo.setRefcount(row, row.refcount + 1)) return { sha256, tier, generation: row.generation };
        } else {
          if (!written) {
            const address: BlobAddress = { sha256, tier, generation: newGeneration() };
            await materialize(address);
            written = address;
          }
          if (await this.repo.insertBlob({ ...written, sizeBytes }, new Date())) {
            const mine = written;
            written = undefined;
            return mine;
          }
        }
        await backoff(attempt);
      }
      throw grpcErrors.aborted(`content ${sha256.slice(0, 12)}… is contended; retry`);
    } finally {
      if (written)
        await this.store.delete(written).catch((err: unknown) => this.logger.warn({ err, sha256 }, 'could not delete an unused blob copy'));
    }
  }

  /** Drops a reference; the blob is deleted with its last one. */
  async release(address: BlobAddress): Promise<'decremented' | 'deleted' | 'absent'> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const row = await this.repo.blob(address.sha256, address.tier);
      if (!row || row.generation !== address.generation) {
        this.logger.warn(
          { sha256: address.sha256, tier: address.tier, generation: address.generation },
          'released a blob reference that was not recorded',
        );
        return 'absent';
      }
      if (row.refcount > 1) {
        if (await this.repo.setRefcount(row, row.refcount - 1)) return 'decremented';
      } else if (await this.repo.deleteLastReference(row)) {
        await this.store.delete(address);
        return 'deleted';
      }
      await backoff(attempt);
    }
    throw grpcErrors.aborted(`content ${address.sha256.slice(0, 12)}… is contended; retry`);
  }
}

function newGeneration(): string {
  return randomBytes(6).toString('hex');
}

async function backoff(attempt: number): Promise<void> {
  await sleep(Math.min(200, 5 * 2 ** attempt) * Math.random());
}
