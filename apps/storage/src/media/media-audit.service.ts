import { Inject, Injectable } from '@nestjs/common';
import { millisToDuration, millisToTimestamp, type storageV1 } from '@pulse/contracts';
import { LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { Counter } from 'prom-client';
import { type BlobAddress, BLOB_STORE, type BlobStore, type Tier } from './blob-store';
import { MediaRepository } from './media.cassandra.repository';

const TIERS: readonly Tier[] = ['standard', 'archive'];
/** Content younger than this is not leaked yet: an upload writes its content a moment before its count row. */
const LEAK_GRACE_MS = 3_600_000;
const MAX_LOST_IDS = 100;

type Finding = 'refcount_low' | 'refcount_high' | 'content_leaked' | 'object_without_content';

const keyOf = (a: BlobAddress) => `${a.sha256}|${a.tier}|${a.generation}`;

/**
 * The media audit (AuditMedia, and the reconciliation's schedule): media_by_id, blobs_by_sha256 and the blob store
 * compared. The write order of uploads and deletes makes every partial failure a leak, never a loss
 * (media-blobs.service.ts), so the audit repairs only in that safe direction: a count lower than the objects
 * reading its content is raised (compare-and-set on the count as scanned), content no count names and older than an
 * hour is deleted (after a linearizable read finds no row of its generation). Counts higher than their readers are
 * reported, not lowered: an upload between its count and its object row looks the same, and lowering it could let a
 * later delete remove content still read. Objects whose content is gone are reported with their ids.
 */
@Injectable()
export class MediaAudit {
  private readonly findings: Counter<'finding' | 'dry_run'>;

  constructor(
    private readonly repo: MediaRepository,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: ServiceMetrics,
  ) {
    this.findings = new Counter({
      name: 'storage_media_audit_findings_total',
      help: 'Differences the media audit found (and repaired where it repairs, unless dry_run), by kind',
      labelNames: ['finding', 'dry_run'],
      registers: [metrics.registry],
    });
  }

  async audit(options: { dryRun: boolean; signal?: AbortSignal }): Promise<storageV1.MediaAudit> {
    const { dryRun } = options;
    const started = Date.now();
    const report: storageV1.MediaAudit = {
      objectsChecked: 0,
      blobRowsChecked: 0,
      contentsChecked: 0,
      refcountsLow: 0,
      refcountsHigh: 0,
      contentsLeaked: 0,
      objectsWithoutContent: 0,
      lostMediaIds: [],
      dryRun,
      startedAt: millisToTimestamp(started),
      took: undefined,
    };
    const found = (finding: Finding) => this.findings.inc({ finding, dry_run: String(dryRun) });
    const stop = () => {
      if (options.signal?.aborted) throw new Error('the media audit was stopped');
    };

    // Objects: who reads which content.
    const readers = new Map<string, string[]>();
    for await (const page of this.repo.scanReferences()) {
      stop();
      report.objectsChecked += page.length;
      for (const r of page) {
        const key = keyOf(r);
        const ids = readers.get(key);
        if (ids) ids.push(r.mediaId);
        else readers.set(key, [r.mediaId]);
      }
    }

    // Counts: each against its readers.
    const rows = new Set<string>();
    for await (const page of this.repo.scanBlobs()) {
      stop();
      report.blobRowsChecked += page.length;
      for (const row of page) {
        const key = keyOf(row);
        rows.add(key);
        const read = readers.get(key)?.length ?? 0;
        if (read > row.refcount) {
          found('refcount_low');
          report.refcountsLow++;
          // Only from the count as scanned: a count that moved since is left to the next audit.
          if (!dryRun && !(await this.repo.setRefcount(row, read)))
            this.logger.info({ sha256: row.sha256, tier: row.tier }, 'a count moved during the audit; left to the next one');
        } else if (read < row.refcount) {
          found('refcount_high');
          report.refcountsHigh++;
        }
      }
    }

    // Content: what no count names, and what the counts name but the store lacks.
    const stored = new Set<string>();
    for (const tier of TIERS) {
      for await (const blob of this.store.list(tier)) {
        stop();
        report.contentsChecked++;
        const key = keyOf(blob.address);
        stored.add(key);
        if (rows.has(key) || started - blob.writtenAt.getTime() < LEAK_GRACE_MS) continue;
        const now = await this.repo.blob(blob.address.sha256, tier);
        if (now?.generation === blob.address.generation) continue; // counted since the scan
        found('content_leaked');
        report.contentsLeaked++;
        if (!dryRun) await this.store.delete(blob.address);
      }
    }
    for (const [key, ids] of readers) {
      if (rows.has(key) && stored.has(key)) continue;
      // Confirmed one by one: an object deleted (or moved to another tier) since the scan is not lost.
      for (const id of ids) {
        stop();
        const media = await this.repo.get(id);
        if (!media || keyOf({ sha256: media.sha256, tier: media.tier, generation: media.blobGeneration }) !== key) continue;
        const address: BlobAddress = { sha256: media.sha256, tier: media.tier, generation: media.blobGeneration };
        const row = await this.repo.blob(media.sha256, media.tier);
        if (row?.generation === media.blobGeneration && (await this.store.exists(address))) continue;
        found('object_without_content');
        report.objectsWithoutContent++;
        if (report.lostMediaIds.length < MAX_LOST_IDS) report.lostMediaIds.push(id);
      }
    }
    if (report.objectsWithoutContent > 0)
      this.logger.error({ objects: report.objectsWithoutContent, mediaIds: report.lostMediaIds }, 'media objects without their content');
    report.took = millisToDuration(Date.now() - started);
    this.logger.info({ audit: { ...report, lostMediaIds: undefined, startedAt: undefined, took: undefined } }, 'media audited');
    return report;
  }
}
