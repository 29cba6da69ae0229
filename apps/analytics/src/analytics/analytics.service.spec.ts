import { createLogger, GrpcStatus, GrpcStatusError, ServiceMetrics } from '@pulse/platform';
import { JobCatalog } from '../jobs/job-catalog';
import type { JobDefinition } from '../jobs/job-definition';
import { intParameter } from '../jobs/job-definition';
import { LakeLocation } from '../lake/lake-location';
import { JobRunner } from '../runs/job-runner.service';
import { JobScheduler } from '../schedules/job-scheduler.service';
import type { SparkConnectClient } from '../spark/spark-connect.client';
import { FakeFeaturePusher, FakeSparkSession, InMemoryJobRunsRepository } from '../testing/fakes';
import { AnalyticsService } from './analytics.service';

const job: JobDefinition = {
  name: 'ranks',
  description: 'ranks',
  layer: 'gold',
  inputs: ['silver/follows'],
  output: { path: 'gold/ranks', partitionBy: [], description: 'one user' },
  schedule: '0 3 * * *',
  parameters: [intParameter('max_iterations', 20, 1, 100, 'rounds')],
  build: async () => 'SELECT 1',
};
const other: JobDefinition = { ...job, name: 'other', output: { ...job.output, path: 'gold/other' }, parameters: [] };

function service(versions: Record<string, number> = { 'silver/follows': 4 }) {
  const repository = new InMemoryJobRunsRepository();
  const catalog = new JobCatalog([job, other]);
  const spark = { session: (id: string) => new FakeSparkSession(id, new Map(Object.entries(versions))) } as unknown as SparkConnectClient;
  const logger = createLogger('analytics-test', 'silent');
  const metrics = new ServiceMetrics('analytics-test');
  const runner = new JobRunner(
    catalog,
    repository,
    spark,
    new LakeLocation('/lake'),
    new FakeFeaturePusher(),
    { maxConcurrentRuns: 1, pushBatch: 10 },
    logger,
    metrics,
  );
  const scheduler = new JobScheduler(
    catalog,
    runner,
    repository,
    { enabled: true, tickMs: 1000, heartbeatTimeoutMs: 60_000 },
    logger,
    metrics,
  );
  return { api: new AnalyticsService(catalog, runner, repository, scheduler), runner, repository };
}

async function grpcError(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GrpcStatusError);
    return { code: (error as GrpcStatusError).code, message: (error as GrpcStatusError).message };
  }
  throw new Error('expected a gRPC error');
}

describe('AnalyticsService', () => {
  it('lists every job with its schedule, next firing and latest run', async () => {
    const { api, runner } = service();
    await api.runJob({ job: 'ranks', parameters: {}, retryOf: '' });
    await runner.idle();
    const [ranks, second] = await api.listJobs();
    expect(ranks).toMatchObject({
      schedule: '0 3 * * *',
      lastRun: { job: 'ranks', state: 'SUCCEEDED', parameters: { max_iterations: '20' } },
    });
    expect(new Date(ranks.nextRunAtMs ?? 0).toISOString()).toMatch(/T03:00:00.000Z$/);
    expect(second.lastRun).toBeUndefined();
  });

  it('refuses a run of an unknown job, with bad parameters, or while one is active', async () => {
    const { api, runner } = service();
    expect(await grpcError(api.runJob({ job: '', parameters: {}, retryOf: '' }))).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
    expect(await grpcError(api.runJob({ job: 'nope', parameters: {}, retryOf: '' }))).toMatchObject({ code: GrpcStatus.NOT_FOUND });
    expect(await grpcError(api.runJob({ job: 'ranks', parameters: { max_iterations: '-1' }, retryOf: '' }))).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
    });
    const first = await api.runJob({ job: 'ranks', parameters: {}, retryOf: '' });
    const busy = await grpcError(api.runJob({ job: 'ranks', parameters: {}, retryOf: '' }));
    expect(busy.code).toBe(GrpcStatus.ABORTED);
    expect(busy.message).toContain(first.runId);
    await runner.idle();
  });

  it('retries a failed run with its parameters, and refuses to retry other runs', async () => {
    const { api, runner } = service({});
    const failed = await api.runJob({ job: 'ranks', parameters: { max_iterations: '7' }, retryOf: '' });
    await runner.idle();
    expect((await api.getRun(failed.runId)).failure?.kind).toBe('INPUT_MISSING');
    const retry = await api.runJob({ job: 'ranks', parameters: {}, retryOf: failed.runId });
    expect(retry).toMatchObject({ retryOf: failed.runId, parameters: { max_iterations: '7' } });
    await runner.idle();
    expect(await grpcError(api.runJob({ job: 'other', parameters: {}, retryOf: failed.runId }))).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      message: `retry_of: is a run of ranks, not of other`,
    });
    const ok = service();
    const done = await ok.api.runJob({ job: 'ranks', parameters: {}, retryOf: '' });
    await ok.runner.idle();
    expect(await grpcError(ok.api.runJob({ job: 'ranks', parameters: {}, retryOf: done.runId }))).toMatchObject({
      code: GrpcStatus.FAILED_PRECONDITION,
    });
    expect(await grpcError(api.runJob({ job: 'ranks', parameters: {}, retryOf: 'x' }))).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
    });
  });

  it('pages through the history newest first', async () => {
    const { api, runner } = service();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await api.runJob({ job: i % 2 ? 'other' : 'ranks', parameters: {}, retryOf: '' })).runId);
      await runner.idle();
    }
    const first = await api.listRuns({ job: '', pageSize: 2, pageToken: '' });
    const second = await api.listRuns({ job: '', pageSize: 2, pageToken: first.nextPageToken });
    const third = await api.listRuns({ job: '', pageSize: 2, pageToken: second.nextPageToken });
    expect([...first.runs, ...second.runs, ...third.runs].map((r) => r.runId)).toEqual([...ids].reverse());
    expect(third.nextPageToken).toBe('');
    expect((await api.listRuns({ job: 'other', pageSize: 0, pageToken: '' })).runs.map((r) => r.runId)).toEqual([ids[3], ids[1]]);
    expect(await grpcError(api.listRuns({ job: '', pageSize: 0, pageToken: 'garbage' }))).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
    });
    expect(await grpcError(api.listRuns({ job: '', pageSize: 501, pageToken: '' }))).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
    expect(await grpcError(api.getRun('6f1c4c56-1a4b-4c8e-9f56-1f1f1f1f1f1f'))).toMatchObject({ code: GrpcStatus.NOT_FOUND });
  });
});
