import { FeaturePusher, type FeatureRow } from '../features/feature-push.client';
import type { ArrowRow } from '../spark/arrow-ipc';
import type { DeltaWrite, ExecuteOptions, SparkResult } from '../spark/spark-connect.client';
import { SparkError } from '../spark/spark-errors';
import {
  type CreateRunResult,
  type JobRun,
  JobRunsRepository,
  type ListRunsQuery,
  type NewRun,
  type RunOutcome,
  type RunProgress,
  type TableVersion,
} from '../runs/job-run';

/** Runs kept in memory, with the same uniqueness rules as job_runs (one active run per job, one run per schedule time). */
export class InMemoryJobRunsRepository extends JobRunsRepository {
  readonly runs = new Map<string, JobRun & { heartbeatMs: number }>();
  private seq = 0;

  async create(run: NewRun): Promise<CreateRunResult> {
    const all = [...this.runs.values()];
    if (run.scheduledForMs !== undefined && all.some((r) => r.job === run.job && r.scheduledForMs === run.scheduledForMs)) {
      return { alreadyScheduled: true };
    }
    const active = all.find((r) => r.job === run.job && (r.state === 'PENDING' || r.state === 'RUNNING'));
    if (active) return { activeRunId: active.runId };
    const now = Date.now() + this.seq++; // distinct, increasing request times
    const created: JobRun & { heartbeatMs: number } = {
      ...run,
      state: 'PENDING',
      requestedAtMs: now,
      inputs: [],
      outputs: [],
      outputRows: 0,
      exportedRows: 0,
      heartbeatMs: now,
    };
    this.runs.set(run.runId, created);
    return { created: { ...created } };
  }

  async get(runId: string): Promise<JobRun | undefined> {
    const run = this.runs.get(runId);
    return run && { ...run };
  }

  async list(query: ListRunsQuery): Promise<JobRun[]> {
    return [...this.runs.values()]
      .filter((r) => (!query.job || r.job === query.job) && (!query.state || r.state === query.state))
      .sort((a, b) => b.requestedAtMs - a.requestedAtMs || b.runId.localeCompare(a.runId))
      .filter(
        (r) =>
          !query.before ||
          r.requestedAtMs < query.before.requestedAtMs ||
          (r.requestedAtMs === query.before.requestedAtMs && r.runId < query.before.runId),
      )
      .slice(0, query.limit);
  }

  async latestByJob(): Promise<Map<string, JobRun>> {
    const out = new Map<string, JobRun>();
    for (const r of [...this.runs.values()].sort((a, b) => a.requestedAtMs - b.requestedAtMs)) out.set(r.job, r);
    return out;
  }

  async markRunning(runId: string, atMs: number): Promise<void> {
    this.update(runId, { state: 'RUNNING', startedAtMs: atMs });
  }

  async recordInputs(runId: string, inputs: TableVersion[]): Promise<void> {
    this.update(runId, { inputs });
  }

  async recordProgress(runId: string, progress: RunProgress): Promise<void> {
    this.update(runId, { progress });
  }

  async finish(runId: string, outcome: RunOutcome, atMs: number): Promise<void> {
    this.update(runId, { ...outcome, progress: outcome.progress, finishedAtMs: atMs });
  }

  async failAbandoned(staleBeforeMs: number, message: string, atMs: number): Promise<JobRun[]> {
    const out: JobRun[] = [];
    for (const r of this.runs.values()) {
      if ((r.state === 'PENDING' || r.state === 'RUNNING') && r.heartbeatMs < staleBeforeMs) {
        Object.assign(r, { state: 'FAILED', failure: { kind: 'INTERRUPTED', message }, finishedAtMs: atMs });
        out.push({ ...r });
      }
    }
    return out;
  }

  async recordAbandonedOutput(runId: string, outputs: TableVersion[], outputRows: number, note: string): Promise<void> {
    const run = this.runs.get(runId);
    if (run?.state === 'FAILED' && run.failure?.kind === 'INTERRUPTED' && run.outputs.length === 0)
      Object.assign(run, { outputs, outputRows, failure: { ...run.failure, message: run.failure.message + note } });
  }

  private update(runId: string, change: Partial<JobRun>): void {
    const run = this.runs.get(runId);
    if (run && (run.state === 'PENDING' || run.state === 'RUNNING' || change.state === undefined))
      Object.assign(run, change, { heartbeatMs: Date.now() });
  }
}

/**
 * A Spark Connect session that answers from a script instead of a server: `DESCRIBE HISTORY` of each table
 * from `versions` (missing → Spark's PATH_NOT_FOUND), other SQL from `answer`, and records what it was sent.
 */
export class FakeSparkSession {
  readonly statements: string[] = [];
  readonly writes: DeltaWrite[] = [];
  readonly checkpoints = new Map<string, string>();
  released = false;
  interrupted = false;
  private committed = new Map<string, { version: number; userMetadata: string; rows: number }>();
  private ids = 0;

  constructor(
    readonly id: string,
    private readonly versions: Map<string, number>,
    private readonly answer: (sql: string) => ArrowRow[] | Error = () => [],
  ) {}

  async sql(query: string, options: ExecuteOptions = {}): Promise<SparkResult> {
    this.statements.push(query);
    const history = /^DESCRIBE HISTORY delta\.`([^`]+)`/.exec(query);
    if (history) {
      const uri = history[1];
      const committed = this.committed.get(uri);
      if (committed)
        return this.result([
          { version: committed.version, userMetadata: committed.userMetadata, operationMetrics: { numOutputRows: String(committed.rows) } },
        ]);
      const version = [...this.versions].find(([path]) => uri.endsWith(`/${path}`))?.[1];
      if (version === undefined) throw new SparkError(`[PATH_NOT_FOUND] Path does not exist: ${uri}.`, 'input_missing');
      return this.result([{ version }]);
    }
    const rows = this.answer(query);
    if (rows instanceof Error) throw rows;
    if (options.onRows) {
      await options.onRows(rows);
      return this.result([]);
    }
    return this.result(rows);
  }

  async writeDelta(write: DeltaWrite): Promise<void> {
    const rows = this.answer(write.query);
    if (rows instanceof Error) throw rows;
    this.writes.push(write);
    const path = [...this.versions.keys()].find((p) => write.path.endsWith(`/${p}`));
    const previous = this.committed.get(write.path)?.version ?? (path ? this.versions.get(path) : undefined) ?? -1;
    this.committed.set(write.path, { version: previous + 1, userMetadata: write.options?.['userMetadata'] ?? '', rows: 42 });
  }

  async checkpoint(query: string): Promise<string> {
    const id = `cp-${this.ids++}`;
    this.checkpoints.set(id, query);
    return id;
  }

  readonly views = new Map<string, string>();

  async createView(name: string, checkpointId: string): Promise<void> {
    this.views.set(name, checkpointId);
  }

  async removeCheckpoint(id: string): Promise<void> {
    this.checkpoints.delete(id);
  }

  async interrupt(): Promise<void> {
    this.interrupted = true;
  }

  async release(): Promise<void> {
    this.released = true;
  }

  private result(rows: ArrowRow[]): SparkResult {
    return { fields: [], rows, operationId: `op-${this.ids++}` };
  }
}

/** Records pushes; fails after `failAfter` rows when set. */
export class FakeFeaturePusher extends FeaturePusher {
  readonly pushed: { featureView: string; row: FeatureRow; eventTimeMs: number }[] = [];
  closed = false;

  constructor(private readonly failAfter?: number) {
    super();
  }

  async push(featureView: string, rows: readonly FeatureRow[], eventTimeMs: number): Promise<number> {
    if (this.failAfter !== undefined && this.pushed.length + rows.length > this.failAfter) {
      throw Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
    }
    for (const row of rows) this.pushed.push({ featureView, row, eventTimeMs });
    return rows.length;
  }

  close(): void {
    this.closed = true;
  }
}
