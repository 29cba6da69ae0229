import { experimentsV1 } from '@pulse/contracts';
import { GrpcStatus, GrpcStatusError } from '@pulse/platform';
import type { ExperimentRecord } from './experiment';
import { validateNewExperiment } from './experiment-rules';
import { placeBuckets } from './experiments.service';

const { Metric, ServingStrategy } = experimentsV1;

function input(overrides: Partial<experimentsV1.Experiment> = {}): experimentsV1.Experiment {
  return {
    id: 'ncf-vs-mf',
    name: 'NeuMF against MF',
    description: '',
    layer: 'recs',
    trafficPercent: 20,
    salt: '',
    variants: [
      { name: 'control', weight: 50, control: true, strategy: ServingStrategy.SERVING_STRATEGY_PROMOTED, description: '' },
      { name: 'mf', weight: 50, control: false, modelVersion: 'v-mf-1', description: '' },
    ],
    primaryMetric: Metric.METRIC_CTR,
    guardrailMetrics: [Metric.METRIC_HIDE_RATE],
    status: 0,
    buckets: undefined,
    analysis: undefined,
    createdAt: undefined,
    startedAt: undefined,
    stoppedAt: undefined,
    stopReason: '',
    placement: undefined,
    ...overrides,
  };
}

function fieldOf(run: () => unknown): { code: number; field: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof GrpcStatusError) return { code: error.code, field: error.violations[0]?.field ?? '' };
    throw error;
  }
  throw new Error('expected an error');
}

describe('experiment rules', () => {
  it('accepts a valid experiment, filling in the salt and the analysis defaults', () => {
    const e = validateNewExperiment(input());
    expect(e).toMatchObject({ id: 'ncf-vs-mf', salt: 'ncf-vs-mf', primaryMetric: 'CTR', guardrailMetrics: ['HIDE_RATE'] });
    expect(e.analysis).toEqual({ alpha: 0.05, sequential: false, sequentialTuning: 5000, cupedDisabled: false, cupedLookbackDays: 14 });
    expect(e.variants[0]).toMatchObject({ strategy: 'PROMOTED', control: true });
  });

  it.each([
    ['weights that do not sum to 100', { variants: [{ ...input().variants[0], weight: 40 }, input().variants[1]] }, 'experiment.variants'],
    ['a traffic allocation above 100 %', { trafficPercent: 120 }, 'experiment.traffic_percent'],
    ['no allocation', { trafficPercent: 0 }, 'experiment.traffic_percent'],
    ['two controls', { variants: [input().variants[0], { ...input().variants[1], control: true }] }, 'experiment.variants'],
    ['no control', { variants: [{ ...input().variants[0], control: false }, input().variants[1]] }, 'experiment.variants'],
    ['one variant', { variants: [{ ...input().variants[0], weight: 100 }] }, 'experiment.variants'],
    [
      'a duplicate variant name',
      { variants: [input().variants[0], { ...input().variants[1], name: 'control' }] },
      'experiment.variants[1].name',
    ],
    [
      'a variant serving nothing',
      { variants: [input().variants[0], { ...input().variants[1], modelVersion: undefined }] },
      'experiment.variants[1].treatment',
    ],
    ['no primary metric', { primaryMetric: Metric.METRIC_UNSPECIFIED }, 'experiment.primary_metric'],
    ['the primary metric as a guardrail', { guardrailMetrics: [Metric.METRIC_CTR] }, 'experiment.guardrail_metrics[0]'],
    ['a bad layer name', { layer: 'Recs Layer' }, 'experiment.layer'],
    ['a placement past the last bucket', { placement: { start: 9000 } }, 'experiment.placement.start'],
  ])('refuses %s, naming the field', (_what, overrides, field) => {
    expect(fieldOf(() => validateNewExperiment(input(overrides as Partial<experimentsV1.Experiment>)))).toEqual({
      code: GrpcStatus.INVALID_ARGUMENT,
      field,
    });
  });
});

describe('bucket placement', () => {
  const record = (id: string, percent: number, buckets: { start: number; end: number } | null, placementStart: number | null = null) =>
    ({ id, layer: 'recs', trafficPercent: percent, buckets, placementStart }) as ExperimentRecord;

  it('gives a starting experiment the first free range of its size in the layer', () => {
    expect(placeBuckets(record('new', 20, null), [])).toEqual({ start: 0, end: 2000 });
    const running = [record('a', 10, { start: 0, end: 1000 }), record('b', 30, { start: 3000, end: 6000 })];
    expect(placeBuckets(record('new', 20, null), running)).toEqual({ start: 1000, end: 3000 });
    expect(placeBuckets(record('new', 25, null), running)).toEqual({ start: 6000, end: 8500 });
  });

  it('refuses a pinned range that overlaps a running experiment, and a layer without room', () => {
    const running = [record('a', 50, { start: 0, end: 5000 })];
    expect(fieldOf(() => placeBuckets(record('new', 10, null, 4500), running))).toEqual({
      code: GrpcStatus.FAILED_PRECONDITION,
      field: 'experiment.placement.start',
    });
    expect(fieldOf(() => placeBuckets(record('new', 60, null), running))).toEqual({
      code: GrpcStatus.FAILED_PRECONDITION,
      field: 'traffic_percent',
    });
  });
});
