import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, quoteIdent } from '@pulse/platform';
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { PRIVACY_CONFIG, type PrivacyConfig } from '../config/privacy.config';
import type { Counts, JobRecord, JobState, StepRecord, StepState, StoreName } from './erasure.model';

interface JobRow {
  job_id: string;
  subject_hash: string;
  subject_id: string | null;
  basis: string;
  state: JobState;
  requested_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  erased_at: Date | null;
  pass: number;
  attempts: number;
  next_attempt_at: Date;
  last_error: string;
}

interface StepRow {
  job_id: string;
  store: StoreName;
  position: number;
  state: StepState;
  pass: number;
  erased: Counts;
  found_on_verify: Counts;
  memo: Record<string, unknown>;
  started_at: Date | null;
  finished_at: Date | null;
  busy_ms: string;
}

/**
 * Erasure jobs, their steps and the audit log in the service's schema. A job is found by its subject hash, so a
 * second request for the same user returns the first job. A worker holds a session advisory lock on the job while it
 * runs it: a crashed worker's lock goes with its connection, and the job is picked up again at once.
 */
@Injectable()
export class ErasureJobsRepository {
  private readonly schema: string;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(PRIVACY_CONFIG) private readonly config: PrivacyConfig,
  ) {
    this.schema = quoteIdent(config.PRIVACY_PG_SCHEMA);
  }

  /** Creates the job of a subject with its steps, or returns the existing one (whatever its state). */
  async create(
    subjectHash: string,
    subjectId: string,
    basis: string,
    stores: readonly StoreName[],
  ): Promise<{ job: JobRecord; created: boolean }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const jobId = randomUUID();
      const inserted = await client.query<JobRow>(
        `INSERT INTO ${this.schema}.erasure_jobs (job_id, subject_hash, subject_id, basis) VALUES ($1, $2, $3, $4)
         ON CONFLICT (subject_hash) DO NOTHING RETURNING job_id`,
        [jobId, subjectHash, subjectId, basis],
      );
      const created = inserted.rowCount === 1;
      if (created) {
        await client.query(
          `INSERT INTO ${this.schema}.erasure_steps (job_id, store, position) SELECT $1, store, position
           FROM unnest($2::text[]) WITH ORDINALITY AS s(store, position)`,
          [jobId, stores],
        );
        await this.auditWith(client, jobId, subjectHash, 'requested', '', { basis, stores });
      }
      await client.query('COMMIT');
      const job = created ? await this.get(jobId) : await this.getByHash(subjectHash);
      return { job: job!, created };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const { rows } = await this.pool.query<JobRow>(`SELECT * FROM ${this.schema}.erasure_jobs WHERE job_id = $1`, [jobId]);
    return rows[0] ? this.withSteps([rows[0]]).then((jobs) => jobs[0]) : undefined;
  }

  async getByHash(subjectHash: string): Promise<JobRecord | undefined> {
    const { rows } = await this.pool.query<JobRow>(`SELECT * FROM ${this.schema}.erasure_jobs WHERE subject_hash = $1`, [subjectHash]);
    return rows[0] ? this.withSteps([rows[0]]).then((jobs) => jobs[0]) : undefined;
  }

  /** Jobs newest first, after the (requested_at, job_id) of the previous page's last job. */
  async list(limit: number, after?: { requestedAt: Date; jobId: string }): Promise<JobRecord[]> {
    const { rows } = after
      ? await this.pool.query<JobRow>(
          `SELECT * FROM ${this.schema}.erasure_jobs WHERE (requested_at, job_id) < ($1, $2) ORDER BY requested_at DESC, job_id DESC LIMIT $3`,
          [after.requestedAt, after.jobId, limit],
        )
      : await this.pool.query<JobRow>(`SELECT * FROM ${this.schema}.erasure_jobs ORDER BY requested_at DESC, job_id DESC LIMIT $1`, [
          limit,
        ]);
    return this.withSteps(rows);
  }

  /** Jobs not completed whose next attempt is due, oldest request first. */
  async runnable(limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ job_id: string }>(
      `SELECT job_id FROM ${this.schema}.erasure_jobs WHERE state <> 'COMPLETED' AND next_attempt_at <= now()
       ORDER BY requested_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.job_id);
  }

  /**
   * Runs `fn` holding the job's advisory lock (a session lock on a connection of its own); undefined without
   * running it when another worker holds the lock.
   */
  async withLock<T>(jobId: string, fn: () => Promise<T>): Promise<T | undefined> {
    const client = await this.pool.connect();
    try {
      const key = [this.config.PRIVACY_PG_SCHEMA, jobId];
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS locked', key);
      if (!rows[0].locked) return undefined;
      try {
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', key).catch(() => undefined);
      }
    } finally {
      client.release();
    }
  }

  /** A worker takes the job up (first start, or again after a crash or restart). */
  async startAttempt(jobId: string): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.schema}.erasure_jobs SET state = 'RUNNING', attempts = attempts + 1, started_at = coalesce(started_at, now()) WHERE job_id = $1`,
      [jobId],
    );
  }

  async saveStep(jobId: string, step: StepRecord): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.schema}.erasure_steps SET state = $3, pass = $4, erased = $5, found_on_verify = $6, memo = $7, started_at = $8, finished_at = $9,
         busy_ms = $10 WHERE job_id = $1 AND store = $2`,
      [jobId, step.store, step.state, step.pass, step.erased, step.foundOnVerify, step.memo, step.startedAt, step.finishedAt, step.busyMs],
    );
  }

  /** Moves the job to a pass (and when to run it); the end of pass 1 is when every store was erased once. */
  async setPass(jobId: string, pass: number, nextAttemptAt: Date, lastError = ''): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.schema}.erasure_jobs SET pass = $2, next_attempt_at = $3, last_error = $4,
         erased_at = CASE WHEN $2 = 2 THEN coalesce(erased_at, now()) ELSE erased_at END WHERE job_id = $1`,
      [jobId, pass, nextAttemptAt, lastError],
    );
  }

  /** Puts the job off until `nextAttemptAt` (a wait, or a retry after an error, then `lastError` says which). */
  async defer(jobId: string, nextAttemptAt: Date, lastError: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.schema}.erasure_jobs SET next_attempt_at = $2, last_error = $3 WHERE job_id = $1`, [
      jobId,
      nextAttemptAt,
      lastError,
    ]);
  }

  /** Completes the job: the user id goes, the hash and the figures stay. */
  async complete(jobId: string, subjectHash: string): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `UPDATE ${this.schema}.erasure_jobs SET state = 'COMPLETED', finished_at = now(), subject_id = NULL, last_error = '' WHERE job_id = $1`,
        [jobId],
      );
      await this.auditWith(client, jobId, subjectHash, 'completed', '', {});
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async audit(jobId: string, subjectHash: string, event: string, store: string, detail: object): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.schema}.erasure_audit (job_id, subject_hash, event, store, detail) VALUES ($1, $2, $3, $4, $5)`,
      [jobId, subjectHash, event, store, detail],
    );
  }

  private async auditWith(client: PoolClient, jobId: string, subjectHash: string, event: string, store: string, detail: object) {
    await client.query(
      `INSERT INTO ${this.schema}.erasure_audit (job_id, subject_hash, event, store, detail) VALUES ($1, $2, $3, $4, $5)`,
      [jobId, subjectHash, event, store, detail],
    );
  }

  private async withSteps(rows: JobRow[]): Promise<JobRecord[]> {
    if (rows.length === 0) return [];
    const steps = await this.pool.query<StepRow>(`SELECT * FROM ${this.schema}.erasure_steps WHERE job_id = ANY($1) ORDER BY position`, [
      rows.map((r) => r.job_id),
    ]);
    return rows.map((r) => ({
      jobId: r.job_id,
      subjectHash: r.subject_hash,
      subjectId: r.subject_id,
      basis: r.basis,
      state: r.state,
      requestedAt: r.requested_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      erasedAt: r.erased_at,
      pass: r.pass,
      attempts: r.attempts,
      nextAttemptAt: r.next_attempt_at,
      lastError: r.last_error,
      steps: steps.rows
        .filter((s) => s.job_id === r.job_id)
        .map((s) => ({
          store: s.store,
          position: s.position,
          state: s.state,
          pass: s.pass,
          erased: s.erased,
          foundOnVerify: s.found_on_verify,
          memo: s.memo,
          startedAt: s.started_at,
          finishedAt: s.finished_at,
          busyMs: Number(s.busy_ms),
        })),
    }));
  }
}
