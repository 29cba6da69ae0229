import { Inject, Injectable } from '@nestjs/common';
import { APP_DB_USER_COLUMNS, LAKE_USER_COLUMNS } from '@pulse/contracts';
import { type AddAction, DeltaTable, parseActions, sqlString } from '@pulse/lake';
import { PRIVACY_CONFIG, type PrivacyConfig } from '../config/privacy.config';
import { type EraseContext, type EraseOutcome, NotYetError, type StoreEraser, type Subject } from '../erasure/erasure.model';
import { LakeAccess } from './lake-access';
import type { LakeMemo } from './lake.eraser';
import { streamStateNames, subjectPredicate } from './lake-subject';

/**
 * The erasure vacuum: once the lake's DELETE is PRIVACY_LAKE_PURGE_MIN_AGE old, every table it deleted from purges
 * its removed files and the log before a new checkpoint (`purge` of libs/lake), so time travel cannot read the rows
 * back. A verification pass reads every file on disk of every table (data files, removed or not, the log, the
 * etl's window state) for the user, and purges again where something is left.
 */
@Injectable()
export class LakePurgeEraser implements StoreEraser {
  readonly store = 'lake_purge' as const;

  constructor(
    private readonly lake: LakeAccess,
    @Inject(PRIVACY_CONFIG) private readonly config: PrivacyConfig,
  ) {}

  async erase(subject: Subject, context: EraseContext): Promise<EraseOutcome> {
    if (!this.lake.enabled) return { counts: {} };
    const memo = (context.steps.get('lake')?.memo ?? {}) as LakeMemo;
    const minAge = this.config.PRIVACY_LAKE_PURGE_MIN_AGE;
    if (memo.lastDeleteAt !== undefined && context.now < memo.lastDeleteAt + minAge) {
      throw new NotYetError(memo.lastDeleteAt + minAge, `the lake's DELETE is younger than ${minAge} ms`);
    }
    if (context.pass === 1) return { counts: { files_purged: await this.purge(memo.tables ?? []) } };
    const left = await this.leftovers(subject);
    const dirty = [...left.entries()].filter(([, n]) => n.rows + n.logMentions + n.stateMentions > 0).map(([path]) => path);
    if (dirty.length > 0) await this.purge(dirty);
    const sum = (k: 'rows' | 'logMentions' | 'stateMentions') => [...left.values()].reduce((s, n) => s + n[k], 0);
    return { counts: { rows_on_disk: sum('rows'), log_mentions: sum('logMentions'), state_mentions: sum('stateMentions') } };
  }

  private async purge(paths: readonly string[]): Promise<number> {
    const { storage, engine } = await this.lake.open();
    let files = 0;
    for (const path of paths) {
      const table = await DeltaTable.open(storage, path, { engine });
      files += (await table.purge({ minAgeMs: this.config.PRIVACY_LAKE_PURGE_MIN_AGE })).deletedFiles.length;
    }
    return files;
  }

  /** What every table still holds of the user on disk: rows in any Parquet data file, mentions in its log and state. */
  private async leftovers(subject: Subject): Promise<Map<string, { rows: number; logMentions: number; stateMentions: number }>> {
    const { storage, engine } = await this.lake.open();
    const out = new Map<string, { rows: number; logMentions: number; stateMentions: number }>();
    for (const path of await this.lake.tables()) {
      const table = await DeltaTable.open(storage, path, { engine });
      const schema = table.snapshot().schema;
      const predicate = subjectPredicate(path, schema, subject.userId);
      const found = { rows: 0, logMentions: 0, stateMentions: 0 };
      const objects = await storage.list(`${path}/`);
      const data = objects.filter((o) => o.key.endsWith('.parquet') && !o.key.includes('/_delta_log/'));
      if (predicate && data.length > 0) {
        const files = await Promise.all(data.map((o) => storage.localPath(o.key)));
        const [row] = await engine.query<{ n: number }>(
          `SELECT count(*)::INT AS n FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true) WHERE ${predicate}`,
        );
        found.rows = row.n;
      }
      const appColumns = APP_DB_USER_COLUMNS[path.match(/(?:^|\/)bronze\/cdc\/[^/]+\.([^/.]+)$/)?.[1] ?? ''] ?? [];
      const keyedByUser = schema.some((c) => c.name === 'user_id');
      for (const o of objects) {
        if (o.key.includes('/_delta_log/') && o.key.endsWith('.json')) {
          const text = (await storage.read(o.key))?.toString('utf8') ?? '';
          if (logNames(text, subject.userId, appColumns)) found.logMentions++;
        } else if (o.key.includes('/_pulse_state/') && keyedByUser) {
          // The state of a stream keyed by user: its open windows (aggregates) or open exposures (the exposures join).
          if (streamStateNames((await storage.read(o.key))?.toString('utf8') ?? '{}', subject.userId)) found.stateMentions++;
        }
      }
      out.set(path, found);
    }
    return out;
  }
}

/** Whether a commit's file statistics (min/max of user columns, or of a CDC table's JSON columns) name the user. */
function logNames(text: string, userId: string, appColumns: readonly string[]): boolean {
  if (!text.includes(userId)) return false;
  for (const action of parseActions(text)) {
    const stats = 'add' in action ? (action.add as AddAction).stats : undefined;
    if (!stats) continue;
    const { minValues = {}, maxValues = {} } = JSON.parse(stats) as {
      minValues?: Record<string, unknown>;
      maxValues?: Record<string, unknown>;
    };
    for (const values of [minValues, maxValues]) {
      for (const [column, value] of Object.entries(values)) {
        if (LAKE_USER_COLUMNS.includes(column) && String(value) === userId) return true;
        if (['key', 'before', 'after'].includes(column) && typeof value === 'string' && value.includes(userId)) {
          try {
            const row = JSON.parse(value) as Record<string, unknown>;
            if (appColumns.some((c) => String(row[c]) === userId)) return true;
          } catch {
            // A truncated statistic: not a whole row, nothing to match.
          }
        }
      }
    }
  }
  return false;
}
