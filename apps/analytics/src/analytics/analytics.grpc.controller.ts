import { Controller, UseFilters } from '@nestjs/common';
import { analyticsV1, millisToTimestamp } from '@pulse/contracts';
import { GrpcExceptionFilter, RequiresScope } from '@pulse/platform';
import type { FailureKind, JobRun, RunProgress, RunState, RunTrigger } from '../runs/job-run';
import { AnalyticsService, type JobView } from './analytics.service';
import { JobOutputReader } from './job-output.reader';

const STATES: Record<RunState, analyticsV1.RunState> = {
  PENDING: analyticsV1.RunState.RUN_STATE_PENDING,
  RUNNING: analyticsV1.RunState.RUN_STATE_RUNNING,
  SUCCEEDED: analyticsV1.RunState.RUN_STATE_SUCCEEDED,
  FAILED: analyticsV1.RunState.RUN_STATE_FAILED,
};
const TRIGGERS: Record<RunTrigger, analyticsV1.RunTrigger> = {
  MANUAL: analyticsV1.RunTrigger.RUN_TRIGGER_MANUAL,
  SCHEDULE: analyticsV1.RunTrigger.RUN_TRIGGER_SCHEDULE,
};
const FAILURES: Record<FailureKind, analyticsV1.FailureKind> = {
  SPARK_UNAVAILABLE: analyticsV1.FailureKind.FAILURE_KIND_SPARK_UNAVAILABLE,
  INPUT_MISSING: analyticsV1.FailureKind.FAILURE_KIND_INPUT_MISSING,
  BAD_INPUT: analyticsV1.FailureKind.FAILURE_KIND_BAD_INPUT,
  OUT_OF_MEMORY: analyticsV1.FailureKind.FAILURE_KIND_OUT_OF_MEMORY,
  SPARK_ERROR: analyticsV1.FailureKind.FAILURE_KIND_SPARK_ERROR,
  INTERRUPTED: analyticsV1.FailureKind.FAILURE_KIND_INTERRUPTED,
  EXPORT_FAILED: analyticsV1.FailureKind.FAILURE_KIND_EXPORT_FAILED,
};
const STATE_NAMES = new Map<analyticsV1.RunState, RunState>(Object.entries(STATES).map(([k, v]) => [v, k as RunState]));

const ts = (ms: number | undefined) => (ms === undefined ? undefined : millisToTimestamp(ms));

function progressProto(p: RunProgress | undefined): analyticsV1.RunProgress | undefined {
  if (!p) return undefined;
  return {
    phase: p.phase,
    operationsDone: p.operationsDone,
    stages: (p.spark?.stages ?? []).map((s) => ({
      stageId: s.stageId,
      tasks: s.numTasks,
      completedTasks: s.numCompletedTasks,
      inputBytesRead: s.inputBytesRead,
      done: s.done,
    })),
    runningTasks: p.spark?.numInflightTasks ?? 0,
    updatedAt: ts(p.updatedAtMs),
  };
}

function runProto(run: JobRun): analyticsV1.JobRun {
  return {
    runId: run.runId,
    job: run.job,
    state: STATES[run.state],
    trigger: TRIGGERS[run.trigger],
    retryOf: run.retryOf ?? '',
    parameters: run.parameters,
    requestedAt: ts(run.requestedAtMs),
    startedAt: ts(run.startedAtMs),
    finishedAt: ts(run.finishedAtMs),
    scheduledFor: ts(run.scheduledForMs),
    progress: progressProto(run.progress),
    inputs: run.inputs,
    outputs: run.outputs,
    failure: run.failure && { kind: FAILURES[run.failure.kind], message: run.failure.message },
    outputRows: run.outputRows,
    exportedRows: run.exportedRows,
  };
}

function jobProto(view: JobView): analyticsV1.Job {
  const { job } = view;
  return {
    name: job.name,
    description: job.description,
    layer: job.layer === 'silver' ? analyticsV1.Layer.LAYER_SILVER : analyticsV1.Layer.LAYER_GOLD,
    inputs: [...job.inputs],
    output: { path: job.output.path, partitionColumns: [...job.output.partitionBy], description: job.output.description },
    schedule: view.schedule,
    nextRunAt: ts(view.nextRunAtMs),
    parameters: (job.parameters ?? []).map((p) => ({ name: p.name, defaultValue: p.defaultValue, description: p.description })),
    lastRun: view.lastRun && runProto(view.lastRun),
    exportsTo: job.export ? `feature-store:${job.export.featureView}` : '',
  };
}

/**
 * pulse.analytics.v1.AnalyticsService over the slice's service; every RPC of the proto must be here (the decorator
 * checks). Jobs and runs are operational status (ops:read); starting a run changes the lake and the feature store (admin).
 */
@Controller()
@analyticsV1.AnalyticsServiceControllerMethods()
@UseFilters(GrpcExceptionFilter)
export class AnalyticsGrpcController implements analyticsV1.AnalyticsServiceController {
  constructor(
    private readonly service: AnalyticsService,
    private readonly outputs: JobOutputReader,
  ) {}

  @RequiresScope('ops:read')
  async listJobs(_request: analyticsV1.ListJobsRequest): Promise<analyticsV1.ListJobsResponse> {
    return { jobs: (await this.service.listJobs()).map(jobProto) };
  }

  @RequiresScope('admin')
  async runJob(request: analyticsV1.RunJobRequest): Promise<analyticsV1.RunJobResponse> {
    const run = await this.service.runJob({ job: request.job, parameters: request.parameters ?? {}, retryOf: request.retryOf });
    return { run: runProto(run) };
  }

  @RequiresScope('ops:read')
  async getJobRun(request: analyticsV1.GetJobRunRequest): Promise<analyticsV1.GetJobRunResponse> {
    return { run: runProto(await this.service.getRun(request.runId)) };
  }

  @RequiresScope('ops:read')
  async listJobRuns(request: analyticsV1.ListJobRunsRequest): Promise<analyticsV1.ListJobRunsResponse> {
    // an unknown enum value reaches the service as a state it refuses
    const state = request.state ? (STATE_NAMES.get(request.state) ?? (`state ${request.state}` as RunState)) : undefined;
    const page = await this.service.listRuns({ job: request.job, state, pageSize: request.pageSize, pageToken: request.pageToken });
    return { runs: page.runs.map(runProto), nextPageToken: page.nextPageToken };
  }

  @RequiresScope('ops:read')
  readJobOutput(request: analyticsV1.ReadJobOutputRequest): Promise<analyticsV1.ReadJobOutputResponse> {
    return this.outputs.read({ job: request.job, limit: request.limit });
  }
}
