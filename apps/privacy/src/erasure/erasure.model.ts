/**
 * An erasure job as the service keeps it (erasure_jobs, erasure_steps): one subject, one step per store in a fixed
 * order, and passes: pass 1 erases every store once, each later pass (a verification) erases every store again
 * and counts what it still found; a pass that finds nothing anywhere completes the job.
 */

/** The stores of an erasure, in the order a pass goes through them. */
export const STORES = [
  // First: every consumer of user data stops writing the subject from here on.
  'erasure_list',
  // The source of the user's rows: cdc turns the delete and its cascades into change events and tombstones.
  'app_database',
  'storage',
  'feature_store',
  'redis',
  'models',
  'kafka',
  'lake',
  // Last: the lake's removed files and log, once the DELETE is older than the minimum age.
  'lake_purge',
] as const;

export type StoreName = (typeof STORES)[number];

export type JobState = 'PENDING' | 'RUNNING' | 'COMPLETED';
export type StepState = 'PENDING' | 'ERASED' | 'VERIFIED';
export type Counts = Record<string, number>;

export interface StepRecord {
  store: StoreName;
  position: number;
  state: StepState;
  /** The pass that last ran this step (0: none yet). */
  pass: number;
  erased: Counts;
  foundOnVerify: Counts;
  memo: Record<string, unknown>;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Time spent erasing in this store, summed over passes, ms. */
  busyMs: number;
}

export interface JobRecord {
  jobId: string;
  subjectHash: string;
  /** The user id while the job runs; null once completed. */
  subjectId: string | null;
  basis: string;
  state: JobState;
  requestedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** When every store had been erased once. */
  erasedAt: Date | null;
  pass: number;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string;
  steps: StepRecord[];
}

/** Who is erased, as an eraser sees it. */
export interface Subject {
  userId: string;
  hash: string;
  jobId: string;
}

/** What an eraser knows of the job when it runs. */
export interface EraseContext {
  /** 1: the first erasure; 2 and up: a verification pass. */
  pass: number;
  /** This store's step as recorded before this run. */
  step: StepRecord;
  /** Every step of the job, by store. */
  steps: ReadonlyMap<StoreName, StepRecord>;
  now: number;
}

export interface EraseOutcome {
  /** What was found and removed in this run: all zero (or empty) means nothing was left. */
  counts: Counts;
  /** What the eraser keeps for its later runs (no personal data). */
  memo?: Record<string, unknown>;
}

/**
 * One store's erasure (a port; adapters in src/stores): removes what the store holds of the subject and reports
 * what it found. Idempotent: run again (a retry after a crash, a verification pass) it removes what is left.
 */
export interface StoreEraser {
  readonly store: StoreName;
  erase(subject: Subject, context: EraseContext): Promise<EraseOutcome>;
}

export const STORE_ERASERS = Symbol('STORE_ERASERS');

/** An eraser cannot run yet (the lake's minimum age); the job waits until `retryAt` without counting an error. */
export class NotYetError extends Error {
  constructor(
    readonly retryAt: number,
    reason: string,
  ) {
    super(reason);
    this.name = 'NotYetError';
  }
}

/** The sum of what a run found: zero means the store held nothing of the subject. */
export function total(counts: Counts): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

export function addCounts(a: Counts, b: Counts): Counts {
  const out: Counts = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}
