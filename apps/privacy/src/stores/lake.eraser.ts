import { Injectable } from '@nestjs/common';
import { DeltaConflictError, DeltaTable } from '@pulse/lake';
import type { EraseContext, EraseOutcome, StoreEraser, Subject } from '../erasure/erasure.model';
import { LakeAccess } from './lake-access';
import { subjectPredicate } from './lake-subject';

/** What the lake eraser keeps between runs: the tables it deleted rows from, and when it last did. */
export interface LakeMemo {
  tables?: string[];
  lastDeleteAt?: number;
}

/**
 * DELETE of the user's rows in every Delta table of the lake (bronze, aggregates, feature tables, gold: found by
 * their logs, rows matched by subjectPredicate): each table's files holding the rows are rewritten without them in
 * one commit of `libs/lake`. The commit records `erasure <job id>` instead of the predicate, so the log does not
 * name the user. A commit racing a compaction of the same files is run again on the new version. The removed files
 * still hold the rows until the erasure vacuum (lake_purge).
 */
@Injectable()
export class LakeEraser implements StoreEraser {
  readonly store = 'lake' as const;

  constructor(private readonly lake: LakeAccess) {}

  async erase(subject: Subject, context: EraseContext): Promise<EraseOutcome> {
    const memo = context.step.memo as LakeMemo;
    if (!this.lake.enabled) return { counts: {} };
    const { storage, engine } = await this.lake.open();
    const touched = new Set(memo.tables ?? []);
    let rows = 0;
    let files = 0;
    let tables = 0;
    for (const path of await this.lake.tables()) {
      const table = await DeltaTable.open(storage, path, { engine });
      const predicate = subjectPredicate(path, table.snapshot().schema, subject.userId);
      if (!predicate) continue;
      for (let attempt = 1; ; attempt++) {
        try {
          const result = await table.delete({ predicate, recordedPredicate: `erasure ${subject.jobId}` });
          if (result.numDeletedRows > 0) {
            rows += result.numDeletedRows;
            files += result.numRemovedFiles;
            tables++;
            touched.add(path);
          }
          break;
        } catch (error) {
          if (!(error instanceof DeltaConflictError) || attempt >= 10) throw error;
        }
      }
    }
    return {
      counts: { rows, files_rewritten: files, tables },
      // The last DELETE committed now: its removed files are this old at most, what the purge waits on.
      memo: { tables: [...touched].sort(), lastDeleteAt: rows > 0 ? Date.now() : memo.lastDeleteAt },
    };
  }
}
