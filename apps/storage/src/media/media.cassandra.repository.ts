import { CASSANDRA } from '@pulse/platform';
import { Inject, Injectable } from '@nestjs/common';
import { type Client, types } from 'cassandra-driver';
import { createHash } from 'node:crypto';
import { pagedRows } from '../shared/cassandra-paging';
import { dayOf } from '../shared/page-token';
import type { Tier } from './blob-store';

export interface MediaRow {
  mediaId: string;
  ownerId: string;
  contentType: string;
  filename: string;
  prefix: string;
  tags: string[];
  sizeBytes: number;
  sha256: string;
  tier: Tier;
  blobGeneration: string;
  createdAt: Date;
  tierChangedAt: Date;
}

export interface BlobRow {
  sha256: string;
  tier: Tier;
  generation: string;
  refcount: number;
  sizeBytes: number;
}

/** media_by_day shards per day (fixed: changing it would hide rows written under another count). */
export const DAY_SHARDS = 8;
const DAYS_SCOPE = 'media';
const TIER_CODE: Record<Tier, number> = { standard: 1, archive: 2 };
const COLUMNS =
  'media_id, owner_id, content_type, filename, prefix, tags, size_bytes, sha256, tier, blob_generation, created_at, tier_changed_at';
const SERIAL = { isIdempotent: false };
const SERIAL_READ = { isIdempotent: true, consistency: types.consistencies.localSerial };

export function shardOf(mediaId: string): number {
  return createHash('sha256').update(mediaId).digest()[0] % DAY_SHARDS;
}

/**
 * media_by_id, media_by_day, media_days and blobs_by_sha256. Reference counts change only by
 * compare-and-set (LWT at LOCAL_SERIAL), so concurrent uploads and deletes of the same content agree.
 */
@Injectable()
export class MediaRepository {
  constructor(@Inject(CASSANDRA) private readonly db: Client) {}

  async get(mediaId: string): Promise<MediaRow | undefined> {
    const rs = await this.db.execute(`SELECT ${COLUMNS} FROM media_by_id WHERE media_id = ?`, [mediaId], { isIdempotent: true });
    const row = rs.first();
    return row ? toMedia(row) : undefined;
  }

  /** Writes an object's row and its sweep index in one logged batch (idempotent: rewrites the same rows). */
  async insert(m: MediaRow): Promise<void> {
    const day = dayOf(m.createdAt.getTime());
    await this.db.batch(
      [
        {
          query: `INSERT INTO media_by_id (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          params: [
            m.mediaId,
            m.ownerId,
            m.contentType,
            m.filename,
            m.prefix,
            m.tags,
            types.Long.fromNumber(m.sizeBytes),
            m.sha256,
            TIER_CODE[m.tier],
            m.blobGeneration,
            m.createdAt,
            m.tierChangedAt,
          ],
        },
        {
          query: 'INSERT INTO media_by_day (day, shard, created_at, media_id) VALUES (?, ?, ?, ?)',
          params: [day, shardOf(m.mediaId), m.createdAt, m.mediaId],
        },
        { query: 'INSERT INTO media_days (scope, day) VALUES (?, ?)', params: [DAYS_SCOPE, day] },
        ...(m.ownerId ? [{ query: 'INSERT INTO media_by_owner (owner_id, media_id) VALUES (?, ?)', params: [m.ownerId, m.mediaId] }] : []),
      ],
      { logged: true, isIdempotent: true },
    );
  }

  /** Deletes the object row only if it still reads the blob that was read; false when it changed or is gone. */
  async deleteIfUnchanged(m: MediaRow): Promise<boolean> {
    const rs = await this.db.execute(
      'DELETE FROM media_by_id WHERE media_id = ? IF tier = ? AND blob_generation = ?',
      [m.mediaId, TIER_CODE[m.tier], m.blobGeneration],
      SERIAL,
    );
    return rs.first().get('[applied]') === true;
  }

  async removeFromDayIndex(m: Pick<MediaRow, 'mediaId' | 'createdAt'>): Promise<void> {
    await this.db.execute(
      'DELETE FROM media_by_day WHERE day = ? AND shard = ? AND created_at = ? AND media_id = ?',
      [dayOf(m.createdAt.getTime()), shardOf(m.mediaId), m.createdAt, m.mediaId],
      { isIdempotent: true },
    );
  }

  async removeFromOwnerIndex(m: Pick<MediaRow, 'mediaId' | 'ownerId'>): Promise<void> {
    if (!m.ownerId) return;
    await this.db.execute('DELETE FROM media_by_owner WHERE owner_id = ? AND media_id = ?', [m.ownerId, m.mediaId], { isIdempotent: true });
  }

  /** The ids of the objects an owner uploaded (media_by_owner), one page at a time. */
  async ownedPage(ownerId: string, fetchSize: number, pageState?: string): Promise<{ mediaIds: string[]; pageState?: string }> {
    const rs = await this.db.execute('SELECT media_id FROM media_by_owner WHERE owner_id = ?', [ownerId], {
      isIdempotent: true,
      fetchSize,
      pageState,
    });
    return { mediaIds: rs.rows.map((r) => r.get('media_id')), pageState: rs.pageState ?? undefined };
  }

  /** Points the object at another blob (a tier move), only if it still reads the expected one. */
  async moveTier(m: MediaRow, to: { tier: Tier; generation: string }, at: Date): Promise<boolean> {
    const rs = await this.db.execute(
      'UPDATE media_by_id SET tier = ?, blob_generation = ?, tier_changed_at = ? WHERE media_id = ? IF tier = ? AND blob_generation = ?',
      [TIER_CODE[to.tier], to.generation, at, m.mediaId, TIER_CODE[m.tier], m.blobGeneration],
      SERIAL,
    );
    return rs.first().get('[applied]') === true;
  }

  async ownerExists(userId: string): Promise<boolean> {
    // The profiles table of the profiles slice: an owner is a user with a profile.
    const rs = await this.db.execute('SELECT user_id FROM profiles WHERE user_id = ?', [userId], { isIdempotent: true });
    return rs.rowLength > 0;
  }

  /** Days with media up to `lastDay`, oldest first. */
  async days(lastDay: number): Promise<number[]> {
    const rs = await this.db.execute('SELECT day FROM media_days WHERE scope = ? AND day <= ?', [DAYS_SCOPE, lastDay], {
      isIdempotent: true,
      fetchSize: 10_000,
    });
    return rs.rows.map((r) => r.get('day') as number);
  }

  async forgetDay(day: number): Promise<void> {
    await this.db.execute('DELETE FROM media_days WHERE scope = ? AND day = ?', [DAYS_SCOPE, day], { isIdempotent: true });
  }

  /** One page of a day shard's media created at or before `createdBefore`, oldest first. */
  async dayPage(
    day: number,
    shard: number,
    createdBefore: Date,
    pageState?: string,
  ): Promise<{ ids: { mediaId: string; createdAt: Date }[]; pageState?: string }> {
    const rs = await this.db.execute(
      'SELECT created_at, media_id FROM media_by_day WHERE day = ? AND shard = ? AND created_at <= ?',
      [day, shard, createdBefore],
      { isIdempotent: true, fetchSize: 500, pageState },
    );
    return {
      ids: rs.rows.map((r) => ({ mediaId: r.get('media_id') as string, createdAt: r.get('created_at') as Date })),
      pageState: rs.pageState ?? undefined,
    };
  }

  async dayIsEmpty(day: number): Promise<boolean> {
    for (let shard = 0; shard < DAY_SHARDS; shard++) {
      const rs = await this.db.execute('SELECT media_id FROM media_by_day WHERE day = ? AND shard = ? LIMIT 1', [day, shard], {
        isIdempotent: true,
      });
      if (rs.rowLength > 0) return false;
    }
    return true;
  }

  // --- blobs ---------------------------------------------------------------

  /** Linearizable read (Paxos) of a blob row, so the compare-and-set that follows starts from the truth. */
  async blob(sha256: string, tier: Tier): Promise<BlobRow | undefined> {
    const rs = await this.db.execute(
      'SELECT sha256, tier, generation, refcount, size_bytes FROM blobs_by_sha256 WHERE sha256 = ? AND tier = ?',
      [sha256, TIER_CODE[tier]],
      SERIAL_READ,
    );
    const row = rs.first();
    return row ? toBlob(row) : undefined;
  }

  /** The first reference of stored content: true if this call created the row. */
  async insertBlob(b: Omit<BlobRow, 'refcount'>, at: Date): Promise<boolean> {
    const rs = await this.db.execute(
      'INSERT INTO blobs_by_sha256 (sha256, tier, generation, refcount, size_bytes, created_at) VALUES (?, ?, ?, 1, ?, ?) IF NOT EXISTS',
      [b.sha256, TIER_CODE[b.tier], b.generation, types.Long.fromNumber(b.sizeBytes), at],
      SERIAL,
    );
    return rs.first().get('[applied]') === true;
  }

  /** refcount n → n + delta, only if it is still n of the same generation. */
  async setRefcount(b: BlobRow, refcount: number): Promise<boolean> {
    const rs = await this.db.execute(
      'UPDATE blobs_by_sha256 SET refcount = ? WHERE sha256 = ? AND tier = ? IF refcount = ? AND generation = ?',
      [refcount, b.sha256, TIER_CODE[b.tier], b.refcount, b.generation],
      SERIAL,
    );
    return rs.first().get('[applied]') === true;
  }

  /** Every media object's blob reference, a page at a time: a full scan of media_by_id (audits only). */
  scanReferences(fetchSize = 2000): AsyncGenerator<{ mediaId: string; sha256: string; tier: Tier; generation: string }[]> {
    return pagedRows(this.db, 'SELECT media_id, sha256, tier, blob_generation FROM media_by_id', fetchSize, (r) => ({
      mediaId: r.get('media_id'),
      sha256: r.get('sha256'),
      tier: tierOf(r.get('tier')),
      generation: r.get('blob_generation'),
    }));
  }

  /** Every row of blobs_by_sha256, a page at a time (audits only). */
  scanBlobs(fetchSize = 2000): AsyncGenerator<BlobRow[]> {
    return pagedRows(this.db, 'SELECT sha256, tier, generation, refcount, size_bytes FROM blobs_by_sha256', fetchSize, toBlob);
  }

  /** Removes the row of the last reference; true if this call removed it (the caller then deletes the blob). */
  async deleteLastReference(b: BlobRow): Promise<boolean> {
    const rs = await this.db.execute(
      'DELETE FROM blobs_by_sha256 WHERE sha256 = ? AND tier = ? IF refcount = 1 AND generation = ?',
      [b.sha256, TIER_CODE[b.tier], b.generation],
      SERIAL,
    );
    return rs.first().get('[applied]') === true;
  }
}

function tierOf(code: number): Tier {
  return code === TIER_CODE.archive ? 'archive' : 'standard';
}

function toMedia(row: types.Row): MediaRow {
  return {
    mediaId: row.get('media_id'),
    ownerId: row.get('owner_id') ?? '',
    contentType: row.get('content_type') ?? '',
    filename: row.get('filename') ?? '',
    prefix: row.get('prefix') ?? '',
    tags: row.get('tags') ?? [],
    sizeBytes: Number(row.get('size_bytes') ?? 0),
    sha256: row.get('sha256'),
    tier: tierOf(row.get('tier')),
    blobGeneration: row.get('blob_generation'),
    createdAt: row.get('created_at'),
    tierChangedAt: row.get('tier_changed_at') ?? row.get('created_at'),
  };
}

function toBlob(row: types.Row): BlobRow {
  return {
    sha256: row.get('sha256'),
    tier: tierOf(row.get('tier')),
    generation: row.get('generation'),
    refcount: row.get('refcount'),
    sizeBytes: Number(row.get('size_bytes') ?? 0),
  };
}
