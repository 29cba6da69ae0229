import { quoteIdent, PG_POOL } from '@pulse/platform';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

/** `mat-…` or `ret-…` of letters, digits and dashes (`create` makes `<kind>-<uuid>`). */
const JOB_ID = /^(mat|ret)-[A-Za-z0-9-]{1,64}$/;
import type { Pool } from 'pg';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from '../config/feature-store.config';

export type JobKind = 'materialization' | 'retrieval';
export type JobStateName = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface JobRecord<R = unknown, P = unknown> {
  id: string;
  kind: JobKind;
  state: JobStateName;
  request: R;
  progress: P;
  error: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
}

/** Materialisation and retrieval jobs in PostgreSQL, so any replica answers for any job. */
@Injectable()
export class JobsRepository {
  private readonly table: string;
  private readonly project: string;
  private readonly staleMs: number;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(FEATURE_STORE_CONFIG) config: FeatureStoreConfig,
  ) {
    this.table = `${quoteIdent(config.FEATURE_STORE_PG_SCHEMA)}.jobs`;
    this.project = config.FEATURE_STORE_PROJECT;
    this.staleMs = config.FEATURE_STORE_JOB_STALE;
  }

  /**
   * Runs `work` for a job while touching its heartbeat every quarter of FEATURE_STORE_JOB_STALE, so other
   * replicas can tell a running job from one whose replica stopped.
   */
  async whileAlive<T>(id: string, work: () => Promise<T>): Promise<T> {
    const timer = setInterval(
      () => void this.pool.query(`UPDATE ${this.table} SET heartbeat_at = now() WHERE id = $1`, [id]).catch(() => undefined),
      Math.max(250, this.staleMs / 4),
    );
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  async create<R, P>(kind: JobKind, request: R, progress: P): Promise<JobRecord<R, P>> {
    const id = `${kind === 'materialization' ? 'mat' : 'ret'}-${randomUUID()}`;
    const { rows } = await this.pool.query(
      `INSERT INTO ${this.table} (id, project, kind, state, request, progress) VALUES ($1, $2, $3, 'PENDING', $4, $5) RETURNING *`,
      [id, this.project, kind, JSON.stringify(request), JSON.stringify(progress)],
    );
    return toRecord(rows[0]);
  }

  async get<R, P>(id: string, kind: JobKind): Promise<JobRecord<R, P> | undefined> {
    // Only ids this repository makes can exist; anything else (a NUL byte PostgreSQL refuses included) is not found.
    if (!JOB_ID.test(id)) return undefined;
    const { rows } = await this.pool.query(`SELECT *, now() AS read_at FROM ${this.table} WHERE id = $1 AND kind = $2 AND project = $3`, [
      id,
      kind,
      this.project,
    ]);
    if (!rows[0]) return undefined;
    const job = toRecord<R, P>(rows[0]);
    const silentMs = (rows[0]['read_at'] as Date).getTime() - (rows[0]['heartbeat_at'] as Date).getTime();
    if ((job.state === 'PENDING' || job.state === 'RUNNING') && silentMs > this.staleMs) {
      return {
        ...job,
        state: 'FAILED',
        error: `no heartbeat from the replica running this job for ${Math.round(silentMs / 1000)} s: it stopped before the job finished; start the job again`,
      };
    }
    return job;
  }

  async update(id: string, change: { state?: JobStateName; progress?: unknown; error?: string }): Promise<void> {
    const sets: string[] = ['heartbeat_at = now()'];
    const params: unknown[] = [id];
    if (change.state) {
      params.push(change.state);
      sets.push(`state = $${params.length}`);
      if (change.state === 'RUNNING') sets.push('started_at = now()');
      if (change.state === 'SUCCEEDED' || change.state === 'FAILED') sets.push('finished_at = now()');
    }
    if (change.progress !== undefined) {
      params.push(JSON.stringify(change.progress));
      sets.push(`progress = $${params.length}`);
    }
    if (change.error !== undefined) {
      params.push(change.error);
      sets.push(`error = $${params.length}`);
    }
    await this.pool.query(`UPDATE ${this.table} SET ${sets.join(', ')} WHERE id = $1`, params);
  }
}

function toRecord<R, P>(row: Record<string, unknown>): JobRecord<R, P> {
  const time = (v: unknown) => (v instanceof Date ? v.getTime() : undefined);
  return {
    id: String(row['id']),
    kind: row['kind'] as JobKind,
    state: row['state'] as JobStateName,
    request: row['request'] as R,
    progress: row['progress'] as P,
    error: String(row['error'] ?? ''),
    createdAt: time(row['created_at']) ?? 0,
    startedAt: time(row['started_at']),
    finishedAt: time(row['finished_at']),
  };
}
