import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { errorMessage, LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { Counter, Histogram } from 'prom-client';
import { PRIVACY_CONFIG, type PrivacyConfig } from '../config/privacy.config';
import { ErasureJobsRepository } from './erasure-jobs.pg.repository';
import {
  addCounts,
  type JobRecord,
  NotYetError,
  STORE_ERASERS,
  type StepRecord,
  type StoreEraser,
  type StoreName,
  total,
} from './erasure.model';

/** Retries of a failing job back off from 2 s to 5 min. */
const backoffMs = (attempt: number) => Math.min(300_000, 2_000 * 2 ** Math.min(attempt, 8));

/**
 * The worker of erasure jobs (Debezium's coordinator to the erasers' sources): takes runnable jobs one at a time
 * under the job's advisory lock and moves each through its passes, writing every step's outcome before the next
 * one starts. A job survives anything: killed mid-step, the step runs again (every eraser is idempotent) when any
 * worker next picks the job up; an error defers the job with backoff; the lake's minimum age defers it without
 * one. Pass 1 erases every store; after PRIVACY_VERIFY_DELAY a verification pass erases them all again and
 * counts what it found, until a pass finds nothing: then the job completes and the user id is dropped.
 */
@Injectable()
export class ErasureRunnerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Jobs this process has taken up (attempts count each process that did). */
  private readonly taken = new Set<string>();
  private readonly erasers: Map<StoreName, StoreEraser>;
  private readonly stepSeconds: Histogram<'store'>;
  private readonly jobsDone: Counter;

  constructor(
    private readonly jobs: ErasureJobsRepository,
    @Inject(STORE_ERASERS) erasers: StoreEraser[],
    @Inject(PRIVACY_CONFIG) private readonly config: PrivacyConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: ServiceMetrics,
  ) {
    this.erasers = new Map(erasers.map((e) => [e.store, e]));
    this.stepSeconds = new Histogram({
      name: 'privacy_erasure_step_seconds',
      help: 'Time of one store erasure (a pass of one job in one store), by store',
      labelNames: ['store'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      registers: [metrics.registry],
    });
    this.jobsDone = new Counter({
      name: 'privacy_erasures_completed_total',
      help: 'Erasure jobs completed',
      registers: [metrics.registry],
    });
  }

  onApplicationBootstrap() {
    if (this.config.PRIVACY_WORKER) this.schedule(0);
  }

  async onApplicationShutdown() {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Looks for work now (after a new request) rather than at the next poll. */
  wake(): void {
    if (this.config.PRIVACY_WORKER && !this.stopped) this.schedule(0);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.running.then(() => this.tick());
    }, delayMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      for (const jobId of await this.jobs.runnable(10)) {
        if (this.stopped) break;
        await this.jobs.withLock(jobId, () => this.run(jobId));
      }
    } catch (error) {
      this.logger.error({ err: error }, 'erasure worker could not look for jobs');
    }
    if (!this.stopped) this.schedule(this.config.PRIVACY_POLL_INTERVAL);
  }

  /** Runs one job as far as it can go now. */
  async run(jobId: string): Promise<void> {
    const job = await this.jobs.get(jobId);
    if (!job || job.state === 'COMPLETED' || job.nextAttemptAt.getTime() > Date.now()) return;
    if (!job.subjectId) throw new Error(`erasure ${jobId} has no subject id left although not completed`);
    if (!this.taken.has(jobId)) {
      this.taken.add(jobId);
      await this.jobs.startAttempt(jobId);
      job.attempts++;
      if (job.attempts > 1) await this.jobs.audit(jobId, job.subjectHash, 'resumed', '', { attempt: job.attempts, pass: job.pass });
    }
    try {
      await this.runPass(job, job.subjectId);
    } catch (error) {
      if (error instanceof NotYetError) {
        await this.jobs.defer(jobId, new Date(error.retryAt), '');
        return;
      }
      const message = errorMessage(error);
      this.logger.warn({ err: error, jobId, pass: job.pass }, 'erasure step failed; the job is retried');
      await this.jobs.defer(jobId, new Date(Date.now() + backoffMs(job.attempts)), message);
      await this.jobs.audit(jobId, job.subjectHash, 'error', '', { pass: job.pass, message: message.slice(0, 500) });
    }
  }

  private async runPass(job: JobRecord, userId: string): Promise<void> {
    const steps = new Map(job.steps.map((s) => [s.store, s]));
    const subject = { userId, hash: job.subjectHash, jobId: job.jobId };
    for (const step of job.steps) {
      if (step.pass >= job.pass) continue; // done in this pass before a crash or a wait
      const eraser = this.erasers.get(step.store);
      if (!eraser) throw new Error(`no eraser for store ${step.store}`);
      const started = Date.now();
      const outcome = await eraser.erase(subject, { pass: job.pass, step, steps, now: started });
      this.stepSeconds.observe({ store: step.store }, (Date.now() - started) / 1000);
      const found = total(outcome.counts);
      const next: StepRecord = {
        ...step,
        pass: job.pass,
        state: job.pass === 1 || found > 0 ? 'ERASED' : 'VERIFIED',
        erased: addCounts(step.erased, outcome.counts),
        foundOnVerify: job.pass === 1 ? {} : outcome.counts,
        memo: outcome.memo ?? step.memo,
        startedAt: step.startedAt ?? new Date(started),
        finishedAt: new Date(),
        busyMs: step.busyMs + (Date.now() - started),
      };
      await this.jobs.saveStep(job.jobId, next);
      steps.set(step.store, next);
      Object.assign(step, next);
      await this.jobs.audit(job.jobId, job.subjectHash, job.pass === 1 ? 'store_erased' : 'store_verified', step.store, {
        pass: job.pass,
        counts: outcome.counts,
      });
    }
    const clean = job.pass > 1 && job.steps.every((s) => s.state === 'VERIFIED');
    if (clean) {
      await this.jobs.complete(job.jobId, job.subjectHash);
      this.jobsDone.inc();
      this.logger.info({ jobId: job.jobId, passes: job.pass }, 'erasure completed');
      return;
    }
    // Another pass after the delay; past the limit it still runs, less often, and says why.
    const pass = job.pass + 1;
    const late = pass > this.config.PRIVACY_MAX_PASSES;
    const still = job.steps.filter((s) => s.state !== 'VERIFIED').map((s) => s.store);
    await this.jobs.setPass(
      job.jobId,
      pass,
      new Date(Date.now() + this.config.PRIVACY_VERIFY_DELAY * (late ? 10 : 1)),
      late ? `pass ${job.pass} still found data in ${still.join(', ')}` : '',
    );
  }
}
