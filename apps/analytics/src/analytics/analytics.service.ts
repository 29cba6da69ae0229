import { Injectable } from '@nestjs/common';
import { grpcErrors } from '@pulse/platform';
import { JobCatalog } from '../jobs/job-catalog';
import type { JobDefinition } from '../jobs/job-definition';
import { type JobRun, JobRunsRepository, type RunState } from '../runs/job-run';
import { JobRunner } from '../runs/job-runner.service';
import { JobScheduler } from '../schedules/job-scheduler.service';

/** A job as ListJobs shows it. */
export interface JobView {
  job: JobDefinition;
  schedule: string;
  nextRunAtMs?: number;
  lastRun?: JobRun;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;
const RUN_STATES: readonly RunState[] = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED'];

/** The rules of AnalyticsService's RPCs: validation, retries, paging; the controller maps proto ↔ these. */
@Injectable()
export class AnalyticsService {
  constructor(
    private readonly catalog: JobCatalog,
    private readonly runner: JobRunner,
    private readonly runs: JobRunsRepository,
    private readonly scheduler: JobScheduler,
  ) {}

  async listJobs(): Promise<JobView[]> {
    const latest = await this.runs.latestByJob();
    return this.catalog.jobs.map((job) => ({
      job,
      schedule: this.catalog.schedule(job.name),
      nextRunAtMs: this.scheduler.nextRun(job.name),
      lastRun: this.live(latest.get(job.name)),
    }));
  }

  async runJob(request: { job: string; parameters: Record<string, string>; retryOf: string }): Promise<JobRun> {
    if (!request.job) throw grpcErrors.invalidArgument('job', 'required: the name of a job (ListJobs lists them)');
    const job = this.catalog.get(request.job);
    let given = request.parameters;
    let retryOf: string | undefined;
    if (request.retryOf) {
      if (!UUID.test(request.retryOf)) throw grpcErrors.invalidArgument('retry_of', 'must be a run id (a UUID)');
      const failed = await this.runs.get(request.retryOf);
      if (!failed) throw grpcErrors.notFound(`run ${request.retryOf}`);
      if (failed.job !== job.name) throw grpcErrors.invalidArgument('retry_of', `is a run of ${failed.job}, not of ${job.name}`);
      if (failed.state !== 'FAILED')
        throw grpcErrors.failedPrecondition(`run ${failed.runId} is ${failed.state}: only a FAILED run is retried`);
      retryOf = failed.runId;
      if (Object.keys(given).length === 0) given = failed.parameters;
    }
    const parameters = this.catalog.parameters(job, given);
    const result = await this.runner.submit({ job: job.name, trigger: 'MANUAL', parameters, retryOf });
    if ('activeRunId' in result) {
      throw grpcErrors.aborted(`job ${job.name} has a run in progress (${result.activeRunId}): wait for it to end (GetJobRun)`);
    }
    if (!('created' in result)) throw grpcErrors.aborted(`job ${job.name} could not be started`);
    return (await this.getRun(result.created.runId)) ?? result.created;
  }

  async getRun(runId: string): Promise<JobRun> {
    if (!UUID.test(runId)) throw grpcErrors.invalidArgument('run_id', 'must be a run id (a UUID)');
    const run = await this.runs.get(runId);
    if (!run) throw grpcErrors.notFound(`run ${runId}`);
    return this.live(run) ?? run;
  }

  async listRuns(request: {
    job: string;
    state?: RunState;
    pageSize: number;
    pageToken: string;
  }): Promise<{ runs: JobRun[]; nextPageToken: string }> {
    if (request.job) this.catalog.get(request.job);
    if (request.state && !RUN_STATES.includes(request.state)) throw grpcErrors.invalidArgument('state', 'unknown run state');
    if (request.pageSize < 0 || request.pageSize > MAX_PAGE) throw grpcErrors.invalidArgument('page_size', `must be 0..${MAX_PAGE}`);
    const limit = request.pageSize || DEFAULT_PAGE;
    const before = request.pageToken ? decodePageToken(request.pageToken) : undefined;
    const runs = await this.runs.list({ job: request.job || undefined, state: request.state, limit: limit + 1, before });
    const page = runs.slice(0, limit).map((r) => this.live(r) ?? r);
    const last = page[page.length - 1];
    return { runs: page, nextPageToken: runs.length > limit && last ? encodePageToken(last) : '' };
  }

  /** A run with the live progress of this replica, when it runs here. */
  private live(run: JobRun | undefined): JobRun | undefined {
    if (!run) return undefined;
    const progress = this.runner.liveProgress(run.runId);
    return progress && (run.state === 'PENDING' || run.state === 'RUNNING') ? { ...run, progress } : run;
  }
}

function encodePageToken(run: JobRun): string {
  return Buffer.from(JSON.stringify({ t: run.requestedAtMs, id: run.runId })).toString('base64url');
}

function decodePageToken(token: string): { requestedAtMs: number; runId: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { t?: unknown; id?: unknown };
    if (typeof parsed.t === 'number' && typeof parsed.id === 'string' && UUID.test(parsed.id))
      return { requestedAtMs: parsed.t, runId: parsed.id };
  } catch {
    // fall through
  }
  throw grpcErrors.invalidArgument('page_token', 'not a token ListJobRuns returned');
}
