import { Inject, Injectable } from '@nestjs/common';
import { storageV1 } from '@pulse/contracts';
import { LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { Counter } from 'prom-client';
import { dayOf, DAY_MS, toTimestamp } from '../shared/page-token';
import { BLOB_STORE, type BlobStore } from './blob-store';
import { abortRuleFor, decide, type LifecycleRule, minimumObjectAgeDays } from './lifecycle-rules';
import { MediaBlobs } from './media-blobs.service';
import { DAY_SHARDS, MediaRepository, type MediaRow } from './media.cassandra.repository';
import { addressOf, MediaService } from './media.service';
import { checkMaxActions, checkSweepPrefix } from './media.validation';

export const LIFECYCLE_RULES = Symbol('LIFECYCLE_RULES');

const HOUR_MS = 3_600_000;
const {
  LIFECYCLE_ACTION_TYPE_ABORT_UPLOAD: ABORT,
  LIFECYCLE_ACTION_TYPE_ARCHIVE: ARCHIVE,
  LIFECYCLE_ACTION_TYPE_EXPIRE: EXPIRE,
} = storageV1.LifecycleActionType;

export interface SweepOptions {
  dryRun: boolean;
  /** Only objects (and uploads) whose key starts with this. */
  prefix: string;
  /** 0 means no limit. */
  maxActions: number;
  /** The sweep's clock (tests and what-if reports); defaults to the real time. */
  now?: Date;
  /** Stops the sweep between two objects (shutdown). */
  signal?: AbortSignal;
}

class Stop extends Error {}

/**
 * Applies the lifecycle rules: first incomplete uploads (aborted after their rule's hours), then media
 * objects day by day from media_by_day, oldest first (expired, or moved to the ARCHIVE tier). A dry run
 * reports the same actions without carrying any out. Every action re-checks its object by
 * compare-and-set, so a sweep racing another sweep, a delete or an upload never acts twice.
 */
@Injectable()
export class MediaLifecycleService {
  private readonly actionsTotal: Counter<'type' | 'outcome'>;

  constructor(
    @Inject(LIFECYCLE_RULES) readonly rules: readonly LifecycleRule[],
    private readonly repo: MediaRepository,
    private readonly media: MediaService,
    private readonly blobs: MediaBlobs,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: ServiceMetrics,
  ) {
    this.actionsTotal = new Counter({
      name: 'storage_media_lifecycle_actions_total',
      help: 'Lifecycle actions of media sweeps, by type and outcome (applied, failed, reported on a dry run)',
      labelNames: ['type', 'outcome'],
      registers: [metrics.registry],
    });
  }

  /** RunLifecycleSweep; INVALID_ARGUMENT for a prefix over 256 characters or max_actions outside 0..100000. */
  async sweep(requested: SweepOptions): Promise<storageV1.RunLifecycleSweepResponse> {
    const options = { ...requested, prefix: checkSweepPrefix(requested.prefix), maxActions: checkMaxActions(requested.maxActions) };
    const startedAt = new Date();
    const now = options.now ?? startedAt;
    const actions: storageV1.LifecycleAction[] = [];
    let truncated = false;

    /** Records (and unless dry, carries out) one action; throws Stop when max_actions is reached first. */
    const act = async (action: Omit<storageV1.LifecycleAction, 'applied' | 'error'>, run: () => Promise<boolean | void>) => {
      if (options.maxActions > 0 && actions.length >= options.maxActions) throw new Stop();
      const entry: storageV1.LifecycleAction = { ...action, applied: false, error: '' };
      if (!options.dryRun) {
        try {
          const result = await run();
          entry.applied = result !== false;
          if (result === false) entry.error = 'the object changed during the sweep; left for the next one';
        } catch (error) {
          entry.error = error instanceof Error ? error.message : String(error);
          this.logger.warn(
            { err: error, action: { ...action, type: storageV1.LifecycleActionType[action.type] } },
            'lifecycle action failed',
          );
        }
      }
      actions.push(entry);
      this.actionsTotal.inc({
        type: storageV1.LifecycleActionType[action.type],
        outcome: options.dryRun ? 'dry_run' : entry.applied ? 'applied' : 'failed',
      });
    };

    try {
      await this.sweepUploads(options, now, act);
      await this.sweepObjects(options, now, act);
    } catch (error) {
      if (!(error instanceof Stop)) throw error;
      truncated = true;
    }
    const finishedAt = new Date();
    if (actions.length > 0 || truncated) {
      this.logger.info(
        { dryRun: options.dryRun, actions: actions.length, truncated, ms: finishedAt.getTime() - startedAt.getTime() },
        'lifecycle sweep',
      );
    }
    return { actions, dryRun: options.dryRun, truncated, startedAt: toTimestamp(startedAt), finishedAt: toTimestamp(finishedAt) };
  }

  private async sweepUploads(options: SweepOptions, now: Date, act: Act): Promise<void> {
    const hours = this.rules
      .filter((r) => r.enabled && r.abortIncompleteUploadsAfterHours !== undefined)
      .map((r) => r.abortIncompleteUploadsAfterHours as number);
    if (hours.length === 0) return;
    const startedBefore = new Date(now.getTime() - Math.min(...hours) * HOUR_MS);
    for await (const upload of this.store.incompleteUploads(startedBefore)) {
      this.checkStop(options);
      if (!upload.prefix.startsWith(options.prefix)) continue;
      const rule = abortRuleFor(this.rules, upload.prefix, upload.startedAt, now);
      if (!rule) continue;
      await act({ type: ABORT, ruleId: rule.id, mediaId: '', objectKey: upload.key, sizeBytes: upload.sizeBytes }, () => upload.discard());
    }
  }

  private async sweepObjects(options: SweepOptions, now: Date, act: Act): Promise<void> {
    const minDays = minimumObjectAgeDays(this.rules);
    if (minDays === undefined) return;
    const createdBefore = new Date(now.getTime() - minDays * DAY_MS);
    for (const day of await this.repo.days(dayOf(createdBefore.getTime()))) {
      for (let shard = 0; shard < DAY_SHARDS; shard++) {
        let pageState: string | undefined;
        do {
          const page = await this.repo.dayPage(day, shard, createdBefore, pageState);
          pageState = page.pageState;
          for (const entry of page.ids) {
            this.checkStop(options);
            const row = await this.repo.get(entry.mediaId);
            if (!row) {
              // the index entry of an object whose delete stopped half-way
              if (!options.dryRun) await this.repo.removeFromDayIndex(entry);
              continue;
            }
            await this.sweepObject(row, options, now, act);
          }
        } while (pageState);
      }
      if (!options.dryRun && day < dayOf(now.getTime()) - 1 && (await this.repo.dayIsEmpty(day))) await this.repo.forgetDay(day);
    }
  }

  private async sweepObject(row: MediaRow, options: SweepOptions, now: Date, act: Act): Promise<void> {
    const key = `${row.prefix}${row.mediaId}`;
    if (!key.startsWith(options.prefix)) return;
    const decision = decide(this.rules, { key, tags: row.tags, createdAt: row.createdAt, archived: row.tier === 'archive' }, now);
    if (!decision) return;
    const base = { ruleId: decision.rule.id, mediaId: row.mediaId, objectKey: key, sizeBytes: row.sizeBytes };
    if (decision.type === 'expire') await act({ ...base, type: EXPIRE }, () => this.media.remove(row));
    else await act({ ...base, type: ARCHIVE }, () => this.archive(row, now));
  }

  /** Moves one object to the ARCHIVE tier: reference (or copy) its content there, repoint the row, release the STANDARD copy. */
  async archive(row: MediaRow, now = new Date()): Promise<boolean> {
    const source = addressOf(row);
    const target = await this.blobs.acquire(row.sha256, 'archive', row.sizeBytes, (address) => this.store.copy(source, address));
    if (!(await this.repo.moveTier(row, { tier: 'archive', generation: target.generation }, now))) {
      await this.blobs.release(target);
      return false;
    }
    await this.blobs.release(source);
    return true;
  }

  private checkStop(options: SweepOptions): void {
    if (options.signal?.aborted) throw new Stop();
  }
}

type Act = (action: Omit<storageV1.LifecycleAction, 'applied' | 'error'>, run: () => Promise<boolean | void>) => Promise<void>;
