import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { errorMessage, LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Counter, Gauge, Histogram } from 'prom-client';
import { FeaturePusher, type FeatureRow } from '../features/feature-push.client';
import { JobCatalog } from '../jobs/job-catalog';
import type { JobDefinition } from '../jobs/job-definition';
import { LakeLocation } from '../lake/lake-location';
import { SparkConnectClient, type SparkSession } from '../spark/spark-connect.client';
import { SparkError, type SparkFailureKind } from '../spark/spark-errors';
import {
  type CreateRunResult,
  type FailureKind,
  type JobRun,
  JobRunsRepository,
  type NewRun,
  type RunProgress,
  type TableVersion,
} from './job-run';
import { ProgressTracker, RunContext } from './run-context';

/** Settings of the runner (from the app's config). */
export interface RunnerSettings {
  maxConcurrentRuns: number;
  pushBatch: number;
}
export const RUNNER_SETTINGS = Symbol('RUNNER_SETTINGS');

/** A run ends with this failure (its kind and the message GetJobRun shows). */
export class RunFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'RunFailure';
  }
}

const SPARK_FAILURES: Record<SparkFailureKind, FailureKind> = {
  unavailable: 'SPARK_UNAVAILABLE',
  input_missing: 'INPUT_MISSING',
  bad_input: 'BAD_INPUT',
  out_of_memory: 'OUT_OF_MEMORY',
  cancelled: 'INTERRUPTED',
  spark_error: 'SPARK_ERROR',
};

function asFailure(error: unknown): RunFailure {
  if (error instanceof RunFailure) return error;
  if (error instanceof SparkError) return new RunFailure(SPARK_FAILURES[error.kind], error.message);
  return new RunFailure('SPARK_ERROR', errorMessage(error));
}

interface ActiveRun {
  run: JobRun;
  progress: ProgressTracker;
  session?: SparkSession;
  done: Promise<void>;
}

/**
 * Executes job runs: records the run (at most one active per job, across replicas), waits for a run slot,
 * then in a Spark session of the run's own pins every input at its current Delta version, checks the
 * job's expectations, builds the output and writes it in one Delta commit (overwrite) whose
 * `commitInfo.userMetadata` names the run and the versions it read, then exports it when the job says so.
 * Whatever fails, the run ends FAILED with the cause and the output table keeps its previous version.
 */
@Injectable()
export class JobRunner implements BeforeApplicationShutdown {
  readonly replica = `${hostname()}:${process.pid}`;
  private readonly active = new Map<string, ActiveRun>();
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private stopping = false;
  private readonly runs: Counter<'job' | 'outcome'>;
  private readonly seconds: Histogram<'job'>;
  private readonly activeGauge: Gauge<'state'>;
  private readonly exported: Counter<'job'>;

  constructor(
    private readonly catalog: JobCatalog,
    private readonly repository: JobRunsRepository,
    private readonly spark: SparkConnectClient,
    private readonly lake: LakeLocation,
    private readonly pusher: FeaturePusher,
    @Inject(RUNNER_SETTINGS) private readonly settings: RunnerSettings,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: ServiceMetrics,
  ) {
    this.runs = new Counter({
      name: 'analytics_job_runs_total',
      help: 'Finished job runs by job and outcome (SUCCEEDED, or the failure kind)',
      labelNames: ['job', 'outcome'],
      registers: [metrics.registry],
    });
    this.seconds = new Histogram({
      name: 'analytics_job_run_seconds',
      help: 'Time from start on Spark to the end of a run, by job',
      labelNames: ['job'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [metrics.registry],
    });
    this.activeGauge = new Gauge({
      name: 'analytics_job_runs_active',
      help: 'Runs of this replica, PENDING (waiting for a slot) or RUNNING',
      labelNames: ['state'],
      registers: [metrics.registry],
    });
    this.exported = new Counter({
      name: 'analytics_exported_rows_total',
      help: 'Rows jobs exported (pushed to the feature store), by job',
      labelNames: ['job'],
      registers: [metrics.registry],
    });
  }

  /**
   * Records a run and starts it in the background. `activeRunId` when the job already has an active run,
   * `alreadyScheduled` when another replica fired this schedule time.
   */
  async submit(request: Omit<NewRun, 'runId' | 'replica'>): Promise<CreateRunResult> {
    if (this.stopping) throw new RunFailure('INTERRUPTED', 'the service is shutting down');
    const job = this.catalog.get(request.job);
    const result = await this.repository.create({ ...request, runId: randomUUID(), replica: this.replica });
    if ('created' in result) {
      const run = result.created;
      const progress = new ProgressTracker((p) => this.repository.recordProgress(run.runId, p));
      const entry: ActiveRun = { run, progress, done: Promise.resolve() };
      this.active.set(run.runId, entry);
      entry.done = this.execute(job, entry).finally(() => this.active.delete(run.runId));
      this.updateGauge();
    }
    return result;
  }

  /** The live progress of a run of this replica (fresher than the recorded one). */
  liveProgress(runId: string): RunProgress | undefined {
    return this.active.get(runId)?.progress.current;
  }

  /** Waits for the runs of this replica to end (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.active.values()].map((a) => a.done));
  }

  /** Before the PostgreSQL pool closes, so that the interrupted runs are recorded. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    // Batch runs take minutes: stop them now (each ends FAILED/INTERRUPTED; a retry or the schedule reruns it).
    for (const waiting of this.waiting.splice(0)) waiting();
    await Promise.all([...this.active.values()].map((a) => a.session?.interrupt().catch(() => undefined)));
    await this.idle();
  }

  private async slot(): Promise<void> {
    if (this.running < this.settings.maxConcurrentRuns) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }

  private updateGauge(): void {
    const all = [...this.active.values()];
    this.activeGauge.set({ state: 'PENDING' }, all.filter((a) => !a.session).length);
    this.activeGauge.set({ state: 'RUNNING' }, all.filter((a) => a.session).length);
  }

  private async execute(job: JobDefinition, entry: ActiveRun): Promise<void> {
    const { run, progress } = entry;
    await this.slot();
    const startedAtMs = Date.now();
    let outputs: TableVersion[] = [];
    let outputRows = 0;
    let exportedRows = 0;
    const log = this.logger.child({ job: job.name, runId: run.runId });
    try {
      if (this.stopping) throw new RunFailure('INTERRUPTED', 'the service stopped before the run started');
      await this.repository.markRunning(run.runId, startedAtMs);
      progress.start();
      const session = this.spark.session(run.runId);
      entry.session = session;
      this.updateGauge();
      log.info({ parameters: run.parameters, trigger: run.trigger }, 'run started');

      progress.phase('reading the versions of the inputs');
      const { versions, empty } = await this.pinInputs(job, session, progress);
      await this.repository.recordInputs(
        run.runId,
        [...versions].map(([path, version]) => ({ path, version })),
      );
      const ctx = new RunContext(run.parameters, session, this.lake, versions, progress, `pulse-run-${run.runId}`, empty);

      for (const expectation of job.expectations ?? []) {
        progress.phase(`checking ${expectation.input}: ${expectation.rule}`);
        const [row] = await ctx.query(expectation.sql(ctx));
        const violations = Number(row?.['violations'] ?? 0);
        if (violations > 0) {
          throw new RunFailure(
            'BAD_INPUT',
            `${expectation.input}: ${violations} row(s) break the rule "${expectation.rule}" (e.g. ${String(row?.['example'] ?? '?').slice(0, 300)})`,
          );
        }
      }

      progress.phase('building the output');
      const query = await job.build(ctx);
      progress.phase(`writing ${job.output.path}`);
      const reads = Object.fromEntries(versions);
      await session.writeDelta(
        {
          query,
          path: this.lake.table(job.output.path),
          mode: 'overwrite',
          partitionBy: [...job.output.partitionBy],
          options: {
            overwriteSchema: 'true',
            userMetadata: JSON.stringify({ pulse_run_id: run.runId, job: job.name, parameters: run.parameters, reads }),
            // Delta's optimized write: one shuffle by partition before writing, so a partitioned table gets a few
            // right-sized files per partition instead of one per task and partition.
            ...(job.output.partitionBy.length > 0 ? { optimizeWrite: 'true' } : {}),
          },
        },
        ctx.options(),
      );
      progress.operationDone();
      const committed = await this.committedVersion(job, session, run.runId);
      outputs = [{ path: job.output.path, version: committed.version }];
      outputRows = committed.rows;
      log.info({ output: job.output.path, version: committed.version, rows: committed.rows, reads }, 'output committed');

      if (job.export) {
        progress.phase(`pushing to feature view ${job.export.featureView}`);
        exportedRows = await this.export(job, ctx, committed.version, startedAtMs, (n) => {
          exportedRows = n;
          progress.phase(`pushing to feature view ${job.export?.featureView}: ${n} rows`);
        });
        this.exported.inc({ job: job.name }, exportedRows);
      }
      progress.phase('done');
      await this.end(job, run, { state: 'SUCCEEDED', outputs, outputRows, exportedRows, progress: progress.current }, startedAtMs);
      log.info({ seconds: (Date.now() - startedAtMs) / 1000, outputRows, exportedRows }, 'run succeeded');
    } catch (error) {
      const failure = asFailure(error);
      progress.phase(`failed: ${failure.kind}`);
      await this.end(
        job,
        run,
        {
          state: 'FAILED',
          outputs,
          outputRows,
          exportedRows,
          failure: { kind: failure.kind, message: failure.message },
          progress: progress.current,
        },
        startedAtMs,
      ).catch((e: unknown) => log.error({ err: e }, 'could not record the failure of the run'));
      log.warn({ kind: failure.kind, message: failure.message }, 'run failed');
    } finally {
      progress.stop();
      await entry.session?.release().catch(() => undefined);
      this.release();
    }
  }

  private async end(job: JobDefinition, run: JobRun, outcome: Parameters<JobRunsRepository['finish']>[1], startedAtMs: number) {
    this.runs.inc({ job: job.name, outcome: outcome.failure?.kind ?? outcome.state });
    this.seconds.observe({ job: job.name }, (Date.now() - startedAtMs) / 1000);
    await this.repository.finish(run.runId, outcome, Date.now());
  }

  /**
   * The current version of every input; a missing input fails the run naming what writes it, unless the job reads it
   * as empty until it is written (`emptyUntilWritten`): then it is in `empty`, with the SQL of its empty relation.
   */
  private async pinInputs(
    job: JobDefinition,
    session: SparkSession,
    progress: ProgressTracker,
  ): Promise<{ versions: Map<string, number>; empty: Map<string, string> }> {
    const versions = new Map<string, number>();
    const empty = new Map<string, string>();
    for (const path of job.inputs) {
      try {
        const { rows } = await session.sql(`DESCRIBE HISTORY ${this.lake.deltaSql(path)} LIMIT 1`);
        progress.operationDone();
        const version = Number(rows[0]?.['version']);
        if (!Number.isInteger(version)) throw new RunFailure('INPUT_MISSING', `${path} has no commits`);
        versions.set(path, version);
      } catch (error) {
        if (error instanceof SparkError && error.kind === 'input_missing') {
          const emptySql = job.emptyUntilWritten?.[path];
          if (emptySql !== undefined) {
            empty.set(path, emptySql);
            continue;
          }
          const producer = this.catalog.jobs.find((j) => j.output.path === path);
          throw new RunFailure(
            'INPUT_MISSING',
            `${path} is not a Delta table at ${this.lake.table(path)} (${producer ? `run job ${producer.name} first` : 'written by the etl service'}): ${error.message}`,
          );
        }
        throw error;
      }
    }
    return { versions, empty };
  }

  /**
   * Settles a run another replica abandoned (the scheduler failed it as INTERRUPTED when its replica stopped
   * reporting). A Spark Connect operation outlives its client, so the run's session may still be writing: its
   * operations are interrupted, and a commit the run made before or despite that is recorded on the run (its
   * outputs, and the message says it was not exported), so that the run history accounts for every version of
   * the output table. A commit still under way at the interrupt may land after this look: Spark Connect does not
   * list a session's operations.
   */
  async settleAbandoned(run: JobRun): Promise<TableVersion | undefined> {
    const job = this.catalog.jobs.find((j) => j.name === run.job);
    if (run.startedAtMs === undefined || !job) return undefined; // never started on Spark (or a job this version lacks)
    const session = this.spark.session(run.runId); // the session the run used (its id is the run's)
    try {
      await session.interrupt();
      const committed = await this.findCommit(job, session, run.runId);
      if (!committed) return undefined;
      const output = { path: job.output.path, version: committed.version };
      const note =
        `; before it stopped, the run committed ${output.path} version ${output.version} (${committed.rows} rows)` +
        (job.export ? `, not pushed to feature view ${job.export.featureView}` : '');
      await this.repository.recordAbandonedOutput(run.runId, [output], committed.rows, note);
      return output;
    } finally {
      await session.release().catch(() => undefined);
    }
  }

  /** The version this run committed (found by its run id in the table's recent history) and its rows. */
  private async committedVersion(job: JobDefinition, session: SparkSession, runId: string): Promise<{ version: number; rows: number }> {
    const committed = await this.findCommit(job, session, runId);
    if (!committed) throw new RunFailure('SPARK_ERROR', `the write finished but ${job.output.path} has no commit of run ${runId}`);
    return committed;
  }

  private async findCommit(
    job: JobDefinition,
    session: SparkSession,
    runId: string,
  ): Promise<{ version: number; rows: number } | undefined> {
    const { rows } = await session.sql(`DESCRIBE HISTORY ${this.lake.deltaSql(job.output.path)} LIMIT 20`);
    for (const row of rows) {
      const meta = typeof row['userMetadata'] === 'string' ? row['userMetadata'] : '';
      if (meta.includes(runId)) {
        const metrics = (row['operationMetrics'] ?? {}) as Record<string, string>;
        return { version: Number(row['version']), rows: Number(metrics['numOutputRows'] ?? 0) };
      }
    }
    return undefined;
  }

  /** Streams the committed output's export rows from Spark and pushes them in batches; returns the rows pushed. */
  private async export(
    job: JobDefinition,
    ctx: RunContext,
    version: number,
    eventTimeMs: number,
    onPushed: (n: number) => void,
  ): Promise<number> {
    const spec = job.export;
    if (!spec) return 0;
    let pushed = 0;
    let batch: FeatureRow[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const rows = batch;
      batch = [];
      try {
        await this.pusher.push(spec.featureView, rows, eventTimeMs);
      } catch (error) {
        throw new RunFailure(
          'EXPORT_FAILED',
          `${job.output.path} version ${version} is written, but pushing it to feature view ${spec.featureView} failed after ${pushed} rows: ${errorMessage(error)}`,
        );
      }
      pushed += rows.length;
      onPushed(pushed);
    };
    await ctx.stream(spec.sql(this.lake.deltaSql(job.output.path, version)), async (rows) => {
      for (const row of rows) {
        batch.push({ joinKeys: { [spec.joinKey]: { stringValue: String(row[spec.joinKey]) } }, features: spec.features(row) });
        if (batch.length >= this.settings.pushBatch) await flush();
      }
    });
    await flush();
    return pushed;
  }
}
