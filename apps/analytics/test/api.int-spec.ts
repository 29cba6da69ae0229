import { status } from '@grpc/grpc-js';
import { decodeFieldViolations } from '@pulse/platform';
import { authorisationMatrix, fuzzProblems, fuzzWithTestKey, matrixProblems } from '@pulse/platform/testing';
import { AnalyticsGrpcController } from '../src/analytics/analytics.grpc.controller';
import { JOBS } from '../src/jobs/job-catalog';
import { AnalyticsWorld } from './analytics-test-env';

// The API over gRPC, as a client sees it: health, reflection-free calls, errors with their status and field.
const env = new AnalyticsWorld();

// schedules on (for next_run_at) but no tick during the test, so nothing fires
beforeAll(() =>
  env.start({ ANALYTICS_SCHEDULES_ENABLED: 'true', ANALYTICS_SCHEDULER_TICK: '1h', ANALYTICS_SCHEDULES: 'pymk=off;pagerank=0 */6 * * *' }),
);
afterAll(() => env.close());

const call = (method: string, request: unknown) =>
  env.api.call(method, request).then(
    () => ({ code: status.OK, details: '', violations: [] as unknown[] }),
    (e: { code: number; details: string; metadata: never }) => ({
      code: e.code,
      details: e.details,
      violations: decodeFieldViolations(e.metadata),
    }),
  );

describe('analytics API', () => {
  it('is live and ready once PostgreSQL answers', async () => {
    expect((await fetch(`${env.app?.httpUrl}/health/live`)).status).toBe(200);
    const ready = await fetch(`${env.app?.httpUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, checks: { postgres: { ok: true } } });
  });

  it('lists the jobs in build order with their schedules (overrides applied) and next firing', async () => {
    const { jobs } = await env.api.call('ListJobs', {});
    expect(jobs.map((j: { name: string }) => j.name)).toEqual(JOBS.map((j) => j.name));
    const byName = new Map(jobs.map((j: { name: string }) => [j.name, j]));
    expect(byName.get('pymk')).toMatchObject({ schedule: '', nextRunAt: null });
    expect(byName.get('pagerank')).toMatchObject({ schedule: '0 */6 * * *' });
    expect(Number((byName.get('pagerank') as { nextRunAt: { seconds: number } }).nextRunAt.seconds) * 1000).toBeGreaterThan(Date.now());
    expect(byName.get('silver_activity')).toMatchObject({
      inputs: ['bronze/activity'],
      output: { path: 'silver/activity', partitionColumns: ['event_date'] },
    });
  });

  it('answers bad requests with the status and the field at fault', async () => {
    expect(await call('RunJob', { job: 'no_such_job' })).toMatchObject({ code: status.NOT_FOUND, details: 'job "no_such_job" not found' });
    expect(await call('RunJob', { job: 'pagerank', parameters: { alpha: '2' } })).toMatchObject({
      code: status.INVALID_ARGUMENT,
      violations: [{ field: 'parameters[alpha]', description: 'must be a number in 0.01..0.99' }],
    });
    expect(await call('RunJob', { job: 'pagerank', retryOf: 'not-a-run' })).toMatchObject({
      code: status.INVALID_ARGUMENT,
      violations: [{ field: 'retry_of', description: 'must be a run id (a UUID)' }],
    });
    expect(await call('GetJobRun', { runId: '7d4f2c1e-0b7a-4f7e-9a51-2f0c3b1d9e11' })).toMatchObject({ code: status.NOT_FOUND });
    expect(await call('ListJobRuns', { pageSize: 1000 })).toMatchObject({
      code: status.INVALID_ARGUMENT,
      violations: [{ field: 'page_size' }],
    });
    expect(await call('ListJobRuns', { state: 42 })).toMatchObject({ code: status.INVALID_ARGUMENT, violations: [{ field: 'state' }] });
  });
});

describe('authorisation of AnalyticsService', () => {
  it('answers every RPC UNAUTHENTICATED without credentials, PERMISSION_DENIED with another scope, and for itself with its scope', async () => {
    const rows = await authorisationMatrix({
      address: env.app?.grpcAddress ?? '',
      protoFile: 'pulse/analytics/v1/analytics_service.proto',
      service: 'pulse.analytics.v1.AnalyticsService',
      controller: AnalyticsGrpcController,
      pgUrl: env.app?.config.PULSE_AUTH_PG_URL ?? '',
      schema: env.app?.config.PULSE_AUTH_PG_SCHEMA,
    });
    expect(rows).toHaveLength(5);
    expect(matrixProblems(rows)).toEqual([]);
    expect(rows.find((r) => r.rpc.endsWith('/ListJobs'))).toMatchObject({ scope: 'ops:read', right: 'OK' });
    expect(rows.find((r) => r.rpc.endsWith('/RunJob'))).toMatchObject({ scope: 'admin', right: 'INVALID_ARGUMENT' });
    expect(rows.find((r) => r.rpc.endsWith('/ReadJobOutput'))).toMatchObject({ scope: 'ops:read', right: 'INVALID_ARGUMENT' });
  });

  it('answers generated and malformed requests to every RPC with client errors, never INTERNAL or UNKNOWN, and stays up (tools/fuzz, short)', async () => {
    expect(
      fuzzProblems(
        await fuzzWithTestKey({
          address: env.app?.grpcAddress ?? '',
          protoFile: 'pulse/analytics/v1/analytics_service.proto',
          service: 'pulse.analytics.v1.AnalyticsService',
          pgUrl: env.app?.config.PULSE_AUTH_PG_URL ?? '',
          schema: env.app?.config.PULSE_AUTH_PG_SCHEMA,
        }),
      ),
    ).toEqual([]);
  }, 900_000);
});
