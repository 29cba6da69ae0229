import type { JobContext } from '../jobs/job-definition';
import type { LakeLocation } from '../lake/lake-location';
import type { ArrowRow } from '../spark/arrow-ipc';
import type { ExecuteOptions, SparkProgress, SparkSession } from '../spark/spark-connect.client';
import type { RunProgress } from './job-run';

/**
 * A run's progress: the phase, the Spark operations finished, Spark's stage progress of the one running, and
 * when it changed. `onChange` is told (at most every `intervalMs`, and at least every `heartbeatMs`) so the
 * runner can record it, which is also the run's heartbeat.
 */
export class ProgressTracker {
  private progress: RunProgress;
  private dirty = false;
  private lastSentMs = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly onChange: (progress: RunProgress) => Promise<void>,
    private readonly intervalMs = 2_000,
    private readonly heartbeatMs = 15_000,
    private readonly now: () => number = Date.now,
  ) {
    this.progress = { phase: 'waiting for a run slot', operationsDone: 0, updatedAtMs: now() };
  }

  get current(): RunProgress {
    return this.progress;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(false), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  phase(text: string): void {
    this.set({ phase: text, spark: undefined });
  }

  spark(progress: SparkProgress): void {
    this.set({ spark: progress });
  }

  operationDone(): void {
    this.set({ operationsDone: this.progress.operationsDone + 1, spark: undefined });
  }

  private set(change: Partial<RunProgress>): void {
    this.progress = { ...this.progress, ...change, updatedAtMs: this.now() };
    this.dirty = true;
  }

  /** Sends the progress if it changed (or the heartbeat is due, or `force`). */
  async flush(force: boolean): Promise<void> {
    const now = this.now();
    if (!force && !this.dirty && now - this.lastSentMs < this.heartbeatMs) return;
    this.dirty = false;
    this.lastSentMs = now;
    await this.onChange(this.progress).catch(() => undefined);
  }
}

/** The JobContext of one run: its parameters, pinned input versions and Spark session. */
export class RunContext implements JobContext {
  private readonly staged = new Map<string, string>();

  constructor(
    readonly params: Readonly<Record<string, string>>,
    private readonly session: SparkSession,
    private readonly lake: LakeLocation,
    private readonly versions: ReadonlyMap<string, number>,
    private readonly progress: ProgressTracker,
    private readonly tag: string,
    /** Inputs not written yet that the job reads as empty: path → the SQL of the empty relation. */
    private readonly empty: ReadonlyMap<string, string> = new Map(),
  ) {}

  input(path: string): string {
    const empty = this.empty.get(path);
    if (empty !== undefined) return `(${empty})`;
    const version = this.versions.get(path);
    if (version === undefined) throw new Error(`${path} is not an input of this job (declare it in inputs)`);
    return this.lake.deltaSql(path, version);
  }

  async query(sql: string): Promise<ArrowRow[]> {
    const { rows } = await this.session.sql(sql, this.options());
    this.progress.operationDone();
    return rows;
  }

  /** Runs a query whose rows arrive batch by batch (Arrow batches as Spark sends them) to `onRows`. */
  async stream(sql: string, onRows: (rows: ArrowRow[]) => Promise<void>): Promise<void> {
    await this.session.sql(sql, this.options({ onRows }));
    this.progress.operationDone();
  }

  async stage(name: string, sql: string): Promise<void> {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`stage name "${name}" must be an SQL identifier`);
    const id = await this.session.checkpoint(sql, this.options());
    await this.session.createView(name, id);
    const previous = this.staged.get(name);
    this.staged.set(name, id);
    if (previous) await this.session.removeCheckpoint(previous);
    this.progress.operationDone();
  }

  phase(text: string): void {
    this.progress.phase(text);
  }

  /** Options of every Spark operation of the run: its tag (for interruption) and progress reporting. */
  options(extra: Partial<ExecuteOptions> = {}): ExecuteOptions {
    return { tag: this.tag, onProgress: (p) => this.progress.spark(p), ...extra };
  }
}
