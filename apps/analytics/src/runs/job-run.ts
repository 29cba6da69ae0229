import type { SparkProgress } from '../spark/spark-connect.client';

export type RunState = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';
export type RunTrigger = 'MANUAL' | 'SCHEDULE';
export type FailureKind =
  'SPARK_UNAVAILABLE' | 'INPUT_MISSING' | 'BAD_INPUT' | 'OUT_OF_MEMORY' | 'SPARK_ERROR' | 'INTERRUPTED' | 'EXPORT_FAILED';

/** A Delta table version a run read or wrote. */
export interface TableVersion {
  path: string;
  version: number;
}

export interface RunProgress {
  phase: string;
  operationsDone: number;
  /** Spark's progress of the operation running now. */
  spark?: SparkProgress;
  updatedAtMs: number;
}

/** One run of a job, as recorded. */
export interface JobRun {
  runId: string;
  job: string;
  state: RunState;
  trigger: RunTrigger;
  retryOf?: string;
  parameters: Record<string, string>;
  scheduledForMs?: number;
  requestedAtMs: number;
  startedAtMs?: number;
  finishedAtMs?: number;
  progress?: RunProgress;
  inputs: TableVersion[];
  outputs: TableVersion[];
  outputRows: number;
  exportedRows: number;
  failure?: { kind: FailureKind; message: string };
  /** The replica executing it (host:pid). */
  replica: string;
}

export interface NewRun {
  runId: string;
  job: string;
  trigger: RunTrigger;
  retryOf?: string;
  parameters: Record<string, string>;
  scheduledForMs?: number;
  replica: string;
}

/** How a run ended, as the runner records it. */
export interface RunOutcome {
  state: 'SUCCEEDED' | 'FAILED';
  outputs: TableVersion[];
  outputRows: number;
  exportedRows: number;
  failure?: { kind: FailureKind; message: string };
  progress?: RunProgress;
}

export type CreateRunResult =
  | { created: JobRun }
  /** Another run of the job is PENDING or RUNNING. */
  | { activeRunId: string }
  /** This schedule time already has its run (another replica fired it). */
  | { alreadyScheduled: true };

export interface ListRunsQuery {
  job?: string;
  state?: RunState;
  limit: number;
  /** Keyset: runs requested before this one (newest first). */
  before?: { requestedAtMs: number; runId: string };
}

/** The port runs are recorded through; `job-runs.pg.repository.ts` is its adapter. */
export abstract class JobRunsRepository {
  /** Records a PENDING run unless the job has an active run or the schedule time has one already. */
  abstract create(run: NewRun): Promise<CreateRunResult>;
  abstract get(runId: string): Promise<JobRun | undefined>;
  abstract list(query: ListRunsQuery): Promise<JobRun[]>;
  /** The latest run of each job that ran. */
  abstract latestByJob(): Promise<Map<string, JobRun>>;
  abstract markRunning(runId: string, atMs: number): Promise<void>;
  abstract recordInputs(runId: string, inputs: TableVersion[]): Promise<void>;
  /** Progress, also the replica's heartbeat for the run. */
  abstract recordProgress(runId: string, progress: RunProgress): Promise<void>;
  abstract finish(runId: string, outcome: RunOutcome, atMs: number): Promise<void>;
  /** Fails (INTERRUPTED) the PENDING and RUNNING runs whose replica has not reported since `staleBeforeMs`; returns them. */
  abstract failAbandoned(staleBeforeMs: number, message: string, atMs: number): Promise<JobRun[]>;
  /** Records on an abandoned (FAILED, INTERRUPTED) run the output it committed before it stopped; `note` ends its message. */
  abstract recordAbandonedOutput(runId: string, outputs: TableVersion[], outputRows: number, note: string): Promise<void>;
}
