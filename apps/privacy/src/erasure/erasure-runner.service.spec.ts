import { createLogger, ServiceMetrics } from '@pulse/platform';
import { privacyConfigSchema } from '../config/privacy.config';
import type { ErasureJobsRepository } from './erasure-jobs.pg.repository';
import { type Counts, type JobRecord, NotYetError, type StepRecord, type StoreEraser, type StoreName } from './erasure.model';
import { ErasureRunnerService } from './erasure-runner.service';

const STORES: StoreName[] = ['erasure_list', 'storage', 'lake'];

/** The repository's job and steps in memory, as the runner writes them. */
class MemoryJobs {
  job: JobRecord = {
    jobId: 'job-1',
    subjectHash: 'h',
    subjectId: '42',
    basis: 'ERASURE_BASIS_GDPR_ART_17',
    state: 'PENDING',
    requestedAt: new Date(0),
    startedAt: null,
    finishedAt: null,
    erasedAt: null,
    pass: 1,
    attempts: 0,
    nextAttemptAt: new Date(0),
    lastError: '',
    steps: STORES.map((store, i) => ({
      store,
      position: i + 1,
      state: 'PENDING',
      pass: 0,
      erased: {},
      foundOnVerify: {},
      memo: {},
      startedAt: null,
      finishedAt: null,
      busyMs: 0,
    })),
  };
  audits: string[] = [];

  async get() {
    return structuredClone(this.job);
  }
  async startAttempt() {
    this.job.attempts++;
    this.job.state = 'RUNNING';
  }
  async saveStep(_id: string, step: StepRecord) {
    this.job.steps = this.job.steps.map((s) => (s.store === step.store ? structuredClone(step) : s));
  }
  async setPass(_id: string, pass: number, next: Date, lastError = '') {
    Object.assign(this.job, { pass, nextAttemptAt: next, lastError });
  }
  async defer(_id: string, next: Date, lastError: string) {
    Object.assign(this.job, { nextAttemptAt: next, lastError });
  }
  async complete() {
    Object.assign(this.job, { state: 'COMPLETED', subjectId: null, finishedAt: new Date() });
  }
  async audit(_id: string, _h: string, event: string, store: string) {
    this.audits.push(store ? `${event}:${store}` : event);
  }
  /** Lets the next run happen now (what waiting for next_attempt_at does). */
  due() {
    this.job.nextAttemptAt = new Date(0);
  }
}

/** An eraser that finds what the script says, pass by pass (the rest: nothing). */
function eraser(
  store: StoreName,
  script: (pass: number) => Counts | Error | Record<string, number | undefined>,
): StoreEraser & { calls: number[] } {
  const calls: number[] = [];
  return {
    store,
    calls,
    async erase(_subject, context) {
      calls.push(context.pass);
      const outcome = script(context.pass);
      if (outcome instanceof Error) throw outcome;
      return { counts: outcome as Counts };
    },
  };
}

function runner(jobs: MemoryJobs, erasers: StoreEraser[], processName = 'p1') {
  const config = privacyConfigSchema.parse({ PRIVACY_VERIFY_DELAY: '1s', PRIVACY_MAX_PASSES: '3' });
  return new ErasureRunnerService(
    jobs as unknown as ErasureJobsRepository,
    erasers,
    config,
    createLogger('privacy-test', 'silent'),
    new ServiceMetrics(`privacy-test-${processName}-${Math.random()}`),
  );
}

describe('ErasureRunnerService', () => {
  it('erases every store in order, then completes after a verification pass that finds nothing, dropping the user id', async () => {
    const jobs = new MemoryJobs();
    const list = eraser('erasure_list', (p) => (p === 1 ? { listed: 1 } : {}));
    const storage = eraser('storage', (p) => (p === 1 ? { profiles: 1, following: 3 } : { profiles: 0 }));
    const lake = eraser('lake', (p) => (p === 1 ? { rows: 10 } : { rows: 0 }));
    const r = runner(jobs, [list, storage, lake]);
    await r.run('job-1');
    expect(jobs.job.steps.map((s) => s.state)).toEqual(['ERASED', 'ERASED', 'ERASED']);
    expect(jobs.job.pass).toBe(2);
    expect(jobs.job.nextAttemptAt.getTime()).toBeGreaterThan(Date.now());
    // Not due yet: nothing happens.
    await r.run('job-1');
    expect(storage.calls).toEqual([1]);
    jobs.due();
    await r.run('job-1');
    expect(jobs.job.state).toBe('COMPLETED');
    expect(jobs.job.subjectId).toBeNull();
    expect(jobs.job.steps.map((s) => s.state)).toEqual(['VERIFIED', 'VERIFIED', 'VERIFIED']);
    expect(jobs.job.steps[1].erased).toEqual({ profiles: 1, following: 3 });
    expect(jobs.job.steps[1].foundOnVerify).toEqual({ profiles: 0 });
    expect(jobs.audits).toEqual([
      'store_erased:erasure_list',
      'store_erased:storage',
      'store_erased:lake',
      'store_verified:erasure_list',
      'store_verified:storage',
      'store_verified:lake',
    ]);
  });

  it('resumes a job from the step it was in when the worker died, counting the new attempt', async () => {
    const jobs = new MemoryJobs();
    let crash = true;
    const list = eraser('erasure_list', () => ({ listed: 1 }));
    const storage = eraser('storage', (p) => (p === 1 ? { profiles: 1 } : {}));
    const lake = eraser('lake', () => {
      if (crash) throw new Error('killed');
      return {};
    });
    await runner(jobs, [list, storage, lake], 'first').run('job-1');
    expect(jobs.job.steps.map((s) => s.state)).toEqual(['ERASED', 'ERASED', 'PENDING']);
    expect(jobs.job.lastError).toBe('killed');
    crash = false;
    jobs.due();
    // Another process takes the job up: the steps done stay done, the failed one runs again.
    await runner(jobs, [list, storage, lake], 'second').run('job-1');
    expect(jobs.job.attempts).toBe(2);
    expect(storage.calls).toEqual([1]);
    expect(jobs.job.steps.map((s) => s.state)).toEqual(['ERASED', 'ERASED', 'ERASED']);
    expect(jobs.audits).toContain('resumed');
  });

  it('keeps verifying while a pass still finds data, and says so past the pass limit', async () => {
    const jobs = new MemoryJobs();
    const list = eraser('erasure_list', () => ({}));
    const storage = eraser('storage', () => ({}));
    const lake = eraser('lake', (p) => ({ rows: p <= 3 ? 1 : 0 }));
    const r = runner(jobs, [list, storage, lake]);
    for (let i = 0; i < 3; i++) {
      jobs.due();
      await r.run('job-1');
    }
    expect(jobs.job.state).toBe('RUNNING');
    expect(jobs.job.pass).toBe(4);
    expect(jobs.job.lastError).toBe('pass 3 still found data in lake');
    expect(jobs.job.steps[2].erased).toEqual({ rows: 3 });
    jobs.due();
    await r.run('job-1');
    expect(jobs.job.state).toBe('COMPLETED');
  });

  it('waits without an error when a store is not ready yet (the lake minimum age)', async () => {
    const jobs = new MemoryJobs();
    const at = Date.now() + 60_000;
    const lake = eraser('lake', () => new NotYetError(at, 'too young'));
    await runner(jobs, [eraser('erasure_list', () => ({})), eraser('storage', () => ({})), lake]).run('job-1');
    expect(jobs.job.nextAttemptAt.getTime()).toBe(at);
    expect(jobs.job.lastError).toBe('');
    expect(jobs.job.steps[2].state).toBe('PENDING');
  });
});
