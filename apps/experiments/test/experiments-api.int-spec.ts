import { assignInExperiment, type AssignableExperiment } from '@pulse/experiments';
import { decodeFieldViolations, GrpcStatus } from '@pulse/platform';
import { fuzzProblems, fuzzWithTestKey, runBuilt } from '@pulse/platform/testing';
import { rm } from 'node:fs/promises';
import { runExperimentsCommand } from '../src/cli/experiments-commands';
import { dropSchema, experimentBody, fakeRecommender, newRun, startExperiments, type TestApp } from './experiments-test-kit';

const run = newRun();
let recs: Awaited<ReturnType<typeof fakeRecommender>>;
let app: TestApp;

beforeAll(async () => {
  recs = await fakeRecommender(['v-mf-1', 'v-ncf-2']);
  app = await startExperiments(run, recs.address);
});

afterAll(async () => {
  await app?.close();
  await recs?.close();
  await dropSchema(run);
  await rm(run.lakeRoot, { recursive: true, force: true });
});

/** The status code and the field violations of a failed call. */
async function failure(call: Promise<unknown>): Promise<{ code: number; fields: string[] }> {
  try {
    await call;
  } catch (error) {
    const e = error as { code: number; metadata?: any };
    return { code: e.code, fields: decodeFieldViolations(e.metadata).map((v) => v.field) };
  }
  throw new Error('the call succeeded');
}

const create = (body: Record<string, unknown>) => app.client.call('CreateExperiment', { experiment: body });

describe('experiments API', () => {
  it('is ready once PostgreSQL answers', async () => {
    expect((await fetch(`${app.running.httpUrl}/health/ready`)).status).toBe(200);
  });

  it('creates a DRAFT experiment, starts it on the first free buckets of its layer, lists and stops it', async () => {
    const body = experimentBody({ layer: 'lifecycle' });
    const { experiment } = await create(body);
    expect(experiment).toMatchObject({ id: body.id, status: 1, salt: body.id, trafficPercent: 30, buckets: null });
    expect(experiment.analysis).toMatchObject({ alpha: 0.05, sequentialTuning: 5000, cupedLookbackDays: 14 });
    expect(recs.calls).toContain('v-mf-1');

    const started = (await app.client.call('StartExperiment', { id: body.id })).experiment;
    expect(started).toMatchObject({ status: 2, buckets: { start: 0, end: 3000 } });
    expect(Number(started.startedAt.seconds)).toBeGreaterThan(0);

    const second = experimentBody({ layer: 'lifecycle', trafficPercent: 20 });
    await create(second);
    expect((await app.client.call('StartExperiment', { id: second.id })).experiment.buckets).toEqual({ start: 3000, end: 5000 });

    const running = (await app.client.call('ListExperiments', { status: 2, layer: 'lifecycle' })).experiments;
    expect(running.map((e: { id: string }) => e.id).sort()).toEqual([body.id, second.id].sort());

    const stopped = (await app.client.call('StopExperiment', { id: body.id, reason: 'done' })).experiment;
    expect(stopped).toMatchObject({ status: 3, stopReason: 'done', buckets: { start: 0, end: 3000 } });
    expect((await app.client.call('GetExperiment', { id: body.id })).experiment.status).toBe(3);
    expect(
      (await app.client.call('ListExperiments', { status: 2, layer: 'lifecycle' })).experiments.map((e: { id: string }) => e.id),
    ).toEqual([second.id]);
  });

  it.each([
    [
      'weights that do not sum to 100',
      { variants: [experimentBody().variants[0], { ...experimentBody().variants[1], weight: 40 }] },
      'experiment.variants',
    ],
    ['an allocation above 100 %', { trafficPercent: 150 }, 'experiment.traffic_percent'],
    [
      'two controls',
      { variants: [experimentBody().variants[0], { ...experimentBody().variants[1], control: true }] },
      'experiment.variants',
    ],
    [
      'a model version the recommender does not have',
      { variants: [experimentBody().variants[0], { ...experimentBody().variants[1], modelVersion: 'v-gone' }] },
      'experiment.variants[1].model_version',
    ],
    ['no primary metric', { primaryMetric: 0 }, 'experiment.primary_metric'],
  ])('refuses %s with INVALID_ARGUMENT naming the field', async (_what, overrides, field) => {
    expect(await failure(create(experimentBody(overrides)))).toEqual({ code: GrpcStatus.INVALID_ARGUMENT, fields: [field] });
  });

  it('refuses buckets that overlap a running experiment of the layer, and a second start or stop', async () => {
    const a = experimentBody({ layer: 'overlap', trafficPercent: 40, placement: { start: 1000 } });
    await create(a);
    await app.client.call('StartExperiment', { id: a.id });
    expect(await failure(create(experimentBody({ layer: 'overlap', trafficPercent: 10, placement: { start: 4500 } })))).toEqual({
      code: GrpcStatus.FAILED_PRECONDITION,
      fields: ['experiment.placement.start'],
    });
    // A draft pinned on free buckets, whose buckets are taken before it starts.
    const b = experimentBody({ layer: 'overlap', trafficPercent: 10, placement: { start: 6000 } });
    await create(b);
    const c = experimentBody({ layer: 'overlap', trafficPercent: 10, placement: { start: 6500 } });
    await create(c);
    await app.client.call('StartExperiment', { id: c.id });
    expect(await failure(app.client.call('StartExperiment', { id: b.id }))).toMatchObject({ code: GrpcStatus.FAILED_PRECONDITION });
    // Another layer is independent.
    await create(experimentBody({ id: `${b.id}-x`, layer: 'other', placement: { start: 6000 } }));
    expect(await failure(app.client.call('StartExperiment', { id: a.id }))).toEqual({
      code: GrpcStatus.FAILED_PRECONDITION,
      fields: ['id'],
    });
    await app.client.call('StopExperiment', { id: a.id });
    expect(await failure(app.client.call('StopExperiment', { id: a.id }))).toEqual({
      code: GrpcStatus.FAILED_PRECONDITION,
      fields: ['id'],
    });
    expect(await failure(app.client.call('GetExperiment', { id: 'no-such' }))).toMatchObject({ code: GrpcStatus.NOT_FOUND });
    expect(await failure(create(experimentBody({ id: a.id })))).toMatchObject({ code: GrpcStatus.ALREADY_EXISTS });
  });

  it('answers generated and malformed requests to every RPC with client errors, never INTERNAL or UNKNOWN, and stays up (tools/fuzz, short)', async () => {
    expect(
      fuzzProblems(
        await fuzzWithTestKey({
          address: app.running.grpcAddress,
          protoFile: 'pulse/experiments/v1/experiments_service.proto',
          service: 'pulse.experiments.v1.ExperimentsService',
          pgUrl: app.running.config.PULSE_AUTH_PG_URL,
        }),
      ),
    ).toEqual([]);
  }, 900_000);

  it('answers UNAVAILABLE when the recommender cannot be asked about a model version', async () => {
    const other = await startExperiments(run, '127.0.0.1:1', { RECS_DEADLINE: '200ms' });
    try {
      expect(await failure(other.client.call('CreateExperiment', { experiment: experimentBody() }))).toMatchObject({
        code: GrpcStatus.UNAVAILABLE,
      });
    } finally {
      await other.close();
    }
  });

  it('assigns every user the same variant after a restart of the service (sticky by construction)', async () => {
    const body = experimentBody({ layer: 'sticky', trafficPercent: 50 });
    await create(body);
    await app.client.call('StartExperiment', { id: body.id });
    const users = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const assign = (experiments: AssignableExperiment[]) =>
      users.map((u) => {
        const a = assignInExperiment(
          experiments.find((e) => e.id === body.id)!,
          u,
        );
        return a ? a.variant.name : null;
      });
    const before = assign((await app.client.call('ListExperiments', { status: 2 })).experiments);
    expect(new Set(before)).toEqual(new Set([null, 'control', 'mf']));

    await app.close();
    app = await startExperiments(run, recs.address);
    const after = assign((await app.client.call('ListExperiments', { status: 2 })).experiments);
    expect(after).toEqual(before);
  });

  it("the built command line sends the caller's PULSE_API_KEY, and without one names what is missing", async () => {
    const env = { EXPERIMENTS_GRPC_ADDR: app.running.grpcAddress };
    const listed = await runBuilt('experiments', 'experiments-cli.js', { ...env, PULSE_API_KEY: app.apiKey }, [
      'list',
      '--status',
      'running',
    ]);
    expect(listed).not.toMatch(/credentials/);
    await expect(runBuilt('experiments', 'experiments-cli.js', { ...env, PULSE_API_KEY: '' }, ['list'])).rejects.toThrow(/no credentials/);
  });

  it('is driven from the command line: create, start, list, results (no exposures yet), stop', async () => {
    const cli = (...argv: string[]) => runExperimentsCommand(argv, app.client);
    const created = await cli(
      'create',
      '--id',
      `cli-${run.id}`,
      '--name',
      'From the CLI',
      '--layer',
      'cli',
      '--traffic',
      '10',
      '--variant',
      'control:50:strategy=promoted:control',
      '--variant',
      'ncf:50:model=v-ncf-2',
      '--primary',
      'ctr',
      '--guardrail',
      'hide_rate',
      '--sequential',
    );
    expect(created).toMatchObject({ exitCode: 0 });
    expect(created.output).toMatch(new RegExp(`cli-${run.id}\\s+draft\\s+layer cli 10 %`));
    expect((await cli('start', `cli-${run.id}`)).output).toMatch(/running .* buckets \[0, 1000\)/);
    expect((await cli('list', '--status', 'running', '--layer', 'cli')).output).toMatch(/ncf 50 %\s+model v-ncf-2/);
    const results = await cli('results', `cli-${run.id}`);
    expect(results).toMatchObject({ exitCode: 0 });
    expect(results.output).toMatch(/not_enough_data/);
    expect((await cli('stop', `cli-${run.id}`, '--reason', 'done')).output).toMatch(/stopped/);
    expect(await cli('stop', `cli-${run.id}`)).toMatchObject({ exitCode: 1, output: expect.stringMatching(/stopped already/) });
    expect(await cli('create', '--variant', 'bad')).toMatchObject({ exitCode: 2 });
  });
});
