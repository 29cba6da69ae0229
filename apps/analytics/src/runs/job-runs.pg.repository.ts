import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, quoteIdent } from '@pulse/platform';
import type { Pool } from 'pg';
import { ANALYTICS_CONFIG, type AnalyticsConfig } from '../config/analytics.config';
import {
  type CreateRunResult,
  type JobRun,
  JobRunsRepository,
  type ListRunsQuery,
  type NewRun,
  type RunOutcome,
  type RunProgress,
  type TableVersion,
} from './job-run';

interface RunRow {
  run_id: string;
  job: string;
  state: JobRun['state'];
  trigger: JobRun['trigger'];
  retry_of: string | null;
  parameters: Record<string, string>;
  scheduled_for: Date | null;
  requested_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  progress: RunProgress | null;
  inputs: TableVersion[];
  outputs: TableVersion[];
  output_rows: string;
  exported_rows: string;
  failure_kind: NonNullable<JobRun['failure']>['kind'] | null;
  failure_message: string | null;
  replica: string;
}

function toRun(r: RunRow): JobRun {
  return {
    runId: r.run_id,
    job: r.job,
    state: r.state,
    trigger: r.trigger,
    retryOf: r.retry_of ?? undefined,
    parameters: r.parameters,
    scheduledForMs: r.scheduled_for?.getTime(),
    requestedAtMs: r.requested_at.getTime(),
    startedAtMs: r.started_at?.getTime(),
    finishedAtMs: r.finished_at?.getTime(),
    progress: r.progress ?? undefined,
    inputs: r.inputs,
    outputs: r.outputs,
    outputRows: Number(r.output_rows),
    exportedRows: Number(r.exported_rows),
    failure: r.failure_kind ? { kind: r.failure_kind, message: r.failure_message ?? '' } : undefined,
    replica: r.replica,
  };
}

const UNIQUE_VIOLATION = '23505';

/** Runs in PostgreSQL (`<schema>.job_runs`, migrations/001_job_runs.sql). */
@Injectable()
export class PgJobRunsRepository extends JobRunsRepository {
  private readonly table: string;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(ANALYTICS_CONFIG) config: AnalyticsConfig,
  ) {
    super();
    this.table = `${quoteIdent(config.ANALYTICS_PG_SCHEMA)}.job_runs`;
  }

  async create(run: NewRun): Promise<CreateRunResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        const { rows } = await this.pool.query<RunRow>(
          `INSERT INTO ${this.table} (run_id, job, state, trigger, retry_of, parameters, scheduled_for, requested_at, heartbeat_at, replica)
           VALUES ($1, $2, 'PENDING', $3, $4, $5, $6, now(), now(), $7)
           RETURNING *`,
          [
            run.runId,
            run.job,
            run.trigger,
            run.retryOf ?? null,
            JSON.stringify(run.parameters),
            run.scheduledForMs === undefined ? null : new Date(run.scheduledForMs),
            run.replica,
          ],
        );
        return { created: toRun(rows[0]) };
      } catch (error) {
        const e = error as { code?: string; constraint?: string };
        if (e.code !== UNIQUE_VIOLATION) throw error;
        if (e.constraint === 'job_runs_once_per_schedule') return { alreadyScheduled: true };
        const { rows } = await this.pool.query<{ run_id: string }>(
          `SELECT run_id FROM ${this.table} WHERE job = $1 AND state IN ('PENDING', 'RUNNING')`,
          [run.job],
        );
        // The active run finished between the insert and this read: insert again (once).
        if (rows[0] || attempt > 0) return { activeRunId: rows[0]?.run_id ?? '' };
      }
    }
  }

  async get(runId: string): Promise<JobRun | undefined> {
    const { rows } = await this.pool.query<RunRow>(`SELECT * FROM ${this.table} WHERE run_id = $1`, [runId]);
    return rows[0] && toRun(rows[0]);
  }

  async list(query: ListRunsQuery): Promise<JobRun[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.job) {
      params.push(query.job);
      where.push(`job = $${params.length}`);
    }
    if (query.state) {
      params.push(query.state);
      where.push(`state = $${params.length}`);
    }
    if (query.before) {
      params.push(new Date(query.before.requestedAtMs), query.before.runId);
      where.push(`(requested_at, run_id) < ($${params.length - 1}, $${params.length}::uuid)`);
    }
    params.push(query.limit);
    const { rows } = await this.pool.query<RunRow>(
      `SELECT * FROM ${this.table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY requested_at DESC, run_id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toRun);
  }

  async latestByJob(): Promise<Map<string, JobRun>> {
    const { rows } = await this.pool.query<RunRow>(
      `SELECT DISTINCT ON (job) * FROM ${this.table} ORDER BY job, requested_at DESC, run_id DESC`,
    );
    return new Map(rows.map((r) => [r.job, toRun(r)]));
  }

  async markRunning(runId: string, atMs: number): Promise<void> {
    await this.pool.query(`UPDATE ${this.table} SET state = 'RUNNING', started_at = $2, heartbeat_at = now() WHERE run_id = $1`, [
      runId,
      new Date(atMs),
    ]);
  }

  async recordInputs(runId: string, inputs: TableVersion[]): Promise<void> {
    await this.pool.query(`UPDATE ${this.table} SET inputs = $2, heartbeat_at = now() WHERE run_id = $1`, [runId, JSON.stringify(inputs)]);
  }

  async recordProgress(runId: string, progress: RunProgress): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.table} SET progress = $2, heartbeat_at = now() WHERE run_id = $1 AND state IN ('PENDING', 'RUNNING')`,
      [runId, JSON.stringify(progress)],
    );
  }

  async finish(runId: string, outcome: RunOutcome, atMs: number): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.table}
       SET state = $2, outputs = $3, output_rows = $4, exported_rows = $5, failure_kind = $6, failure_message = $7,
           progress = coalesce($8, progress), finished_at = $9, heartbeat_at = now()
       WHERE run_id = $1 AND state IN ('PENDING', 'RUNNING')`,
      [
        runId,
        outcome.state,
        JSON.stringify(outcome.outputs),
        outcome.outputRows,
        outcome.exportedRows,
        outcome.failure?.kind ?? null,
        outcome.failure?.message ?? null,
        outcome.progress ? JSON.stringify(outcome.progress) : null,
        new Date(atMs),
      ],
    );
  }

  async failAbandoned(staleBeforeMs: number, message: string, atMs: number): Promise<JobRun[]> {
    const { rows } = await this.pool.query<RunRow>(
      `UPDATE ${this.table}
       SET state = 'FAILED', failure_kind = 'INTERRUPTED', failure_message = $2, finished_at = $3
       WHERE state IN ('PENDING', 'RUNNING') AND heartbeat_at < $1
       RETURNING *`,
      [new Date(staleBeforeMs), message, new Date(atMs)],
    );
    return rows.map(toRun);
  }

  async recordAbandonedOutput(runId: string, outputs: TableVersion[], outputRows: number, note: string): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.table}
       SET outputs = $2, output_rows = $3, failure_message = failure_message || $4
       WHERE run_id = $1 AND state = 'FAILED' AND failure_kind = 'INTERRUPTED' AND outputs = '[]'::jsonb`,
      [runId, JSON.stringify(outputs), outputRows, note],
    );
  }
}
