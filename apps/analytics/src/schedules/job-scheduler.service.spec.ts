import { createLogger, ServiceMetrics } from '@pulse/platform';
import { JobCatalog } from '../jobs/job-catalog';
import type { JobDefinition } from '../jobs/job-definition';
import type { JobRun, NewRun } from '../runs/job-run';
import type { JobRunner } from '../runs/job-runner.service';
import { InMemoryJobRunsRepository } from '../testing/fakes';
import { JobScheduler } from './job-scheduler.service';

const job = (name: string, schedule: string): JobDefinition => ({
  name,
  description: name,
  layer: 'gold',
  inputs: [],
  output: { path: `gold/${name}`, partitionBy: [], description: 'row' },
  schedule,
  build: async () => 'SELECT 1',
});

const T0 = Date.UTC(2024, 2, 1, 10, 0, 0);
const MIN = 60_000;

/** Two replicas' schedulers over one record of runs; runs stay active until `finish`. */
function replicas(jobs: JobDefinition[], count = 2) {
  const repository = new InMemoryJobRunsRepository();
  const catalog = new JobCatalog(jobs);
  const submitted: NewRun[] = [];
  const settled: string[] = [];
  const runner = {
    settleAbandoned: async (run: JobRun) => void settled.push(run.runId),
    submit: async (request: Omit<NewRun, 'runId' | 'replica'>) => {
      const result = await repository.create({ ...request, runId: `run-${submitted.length}`, replica: 'r' });
      if ('created' in result) submitted.push({ ...request, runId: result.created.runId, replica: 'r' });
      return result;
    },
  } as unknown as JobRunner;
  const make = () => {
    const scheduler = new JobScheduler(
      catalog,
      runner,
      repository,
      { enabled: true, tickMs: 15_000, heartbeatTimeoutMs: 2 * MIN },
      createLogger('analytics-test', 'silent'),
      new ServiceMetrics('analytics-test'),
    );
    (scheduler as unknown as { lastTickMs: number }).lastTickMs = T0;
    return scheduler;
  };
  const finish = (runId: string) =>
    repository.finish(runId, { state: 'SUCCEEDED', outputs: [], outputRows: 0, exportedRows: 0 }, Date.now());
  return { schedulers: Array.from({ length: count }, make), repository, submitted, settled, finish };
}

describe('JobScheduler', () => {
  it('starts one run per firing, however many replicas see it', async () => {
    const { schedulers, submitted } = replicas([job('hourly', '0 * * * *'), job('never', '')]);
    for (const s of schedulers) await s.tick(T0 + 30_000); // 10:00:30: no firing since 10:00
    expect(submitted).toHaveLength(0);
    for (const s of schedulers) await s.tick(T0 + 60 * MIN + 5_000); // 11:00:05
    expect(submitted.map((r) => [r.job, r.trigger, new Date(r.scheduledForMs ?? 0).toISOString()])).toEqual([
      ['hourly', 'SCHEDULE', '2024-03-01T11:00:00.000Z'],
    ]);
  });

  it('skips a firing while the previous run of the job is still active, and runs the next one', async () => {
    const { schedulers, submitted, finish } = replicas([job('often', '*/5 * * * *')], 1);
    const [s] = schedulers;
    await s.tick(T0 + 5 * MIN);
    await s.tick(T0 + 10 * MIN); // the 10:05 run is still active
    expect(submitted).toHaveLength(1);
    await finish(submitted[0].runId);
    await s.tick(T0 + 15 * MIN);
    expect(submitted.map((r) => new Date(r.scheduledForMs ?? 0).toISOString().slice(11, 16))).toEqual(['10:05', '10:15']);
  });

  it('does not catch up firings missed while it was not ticking: it runs the latest', async () => {
    const { schedulers, submitted } = replicas([job('often', '*/5 * * * *')], 1);
    await schedulers[0].tick(T0 + 31 * MIN);
    expect(submitted.map((r) => new Date(r.scheduledForMs ?? 0).toISOString().slice(11, 16))).toEqual(['10:30']);
  });

  it('fails runs whose replica stopped reporting, and settles them', async () => {
    const { schedulers, repository, submitted, settled } = replicas([job('hourly', '0 * * * *')], 1);
    await schedulers[0].tick(T0 + 60 * MIN);
    const [run] = submitted;
    await schedulers[0].tick(Date.now() + 3 * MIN); // no heartbeat for 3 minutes
    expect(await repository.get(run.runId)).toMatchObject({
      state: 'FAILED',
      failure: { kind: 'INTERRUPTED', message: expect.stringMatching(/stopped reporting for 120 s/) },
    });
    expect(settled).toEqual([run.runId]);
  });

  it('says when each job fires next, and nothing when schedules are off', () => {
    const { schedulers } = replicas([job('hourly', '0 * * * *')], 1);
    expect(schedulers[0].nextRun('hourly', T0 + 1)).toBe(T0 + 60 * MIN);
    expect(schedulers[0].nextRun('unknown', T0)).toBeUndefined();
  });
});
