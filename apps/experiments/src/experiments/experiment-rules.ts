import { experimentsV1 } from '@pulse/contracts';
import { BUCKETS } from '@pulse/experiments';
import { grpcErrors } from '@pulse/platform';
import { randomUUID } from 'node:crypto';
import { type Analysis, bucketCount, metricName, type NewExperiment, type StoredVariant } from './experiment';

const { Metric, ServingStrategy } = experimentsV1;

const ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const LAYER = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const VARIANT = /^[a-z][a-z0-9_-]{0,31}$/;
const MODEL_VERSION = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Weights and allocations are percentages kept to two decimals (a bucket of 10,000 is 0.01 %). */
const TOLERANCE = 1e-6;

export const DEFAULT_ANALYSIS: Analysis = {
  alpha: 0.05,
  sequential: false,
  sequentialTuning: 5000,
  cupedDisabled: false,
  cupedLookbackDays: 14,
};

/**
 * Checks a CreateExperiment request against the rules of the service and returns what to store; throws
 * INVALID_ARGUMENT naming the first offending field. Whether model versions exist and whether pinned buckets
 * are free are checked by the service (they need the recommender and the store).
 */
export function validateNewExperiment(input: experimentsV1.Experiment | undefined): NewExperiment {
  if (!input) throw grpcErrors.invalidArgument('experiment', 'is required');
  const id = input.id || `exp-${randomUUID().slice(0, 8)}`;
  if (!ID.test(id)) throw grpcErrors.invalidArgument('experiment.id', '1..64 characters of [a-z0-9_-], starting with a letter or digit');
  const name = input.name.trim();
  if (name.length < 1 || name.length > 200) throw grpcErrors.invalidArgument('experiment.name', 'is required, at most 200 characters');
  if (input.description.length > 2000) throw grpcErrors.invalidArgument('experiment.description', 'at most 2000 characters');
  if (!LAYER.test(input.layer)) throw grpcErrors.invalidArgument('experiment.layer', '1..64 characters of [a-z0-9_-]');
  const traffic = input.trafficPercent;
  if (!Number.isFinite(traffic) || traffic <= 0 || traffic > 100)
    throw grpcErrors.invalidArgument('experiment.traffic_percent', `must be in (0, 100] percent of the layer, got ${traffic}`);
  if (Math.abs(traffic * 100 - Math.round(traffic * 100)) > TOLERANCE * 100)
    throw grpcErrors.invalidArgument('experiment.traffic_percent', 'at most two decimals (one bucket of 10,000 is 0.01 %)');
  const salt = input.salt || id;
  if (salt.length > 128) throw grpcErrors.invalidArgument('experiment.salt', 'at most 128 characters');

  const variants = validateVariants(input.variants ?? []);
  const primary = input.primaryMetric;
  if (!isMetric(primary)) throw grpcErrors.invalidArgument('experiment.primary_metric', 'one of the documented metrics is required');
  const guardrails: string[] = [];
  (input.guardrailMetrics ?? []).forEach((m, i) => {
    const field = `experiment.guardrail_metrics[${i}]`;
    if (!isMetric(m)) throw grpcErrors.invalidArgument(field, 'not one of the documented metrics');
    if (m === primary) throw grpcErrors.invalidArgument(field, 'is the primary metric');
    if (guardrails.includes(metricName(m))) throw grpcErrors.invalidArgument(field, 'listed twice');
    guardrails.push(metricName(m));
  });

  let placementStart: number | null = null;
  if (input.placement) {
    placementStart = input.placement.start;
    if (!Number.isInteger(placementStart) || placementStart < 0 || placementStart + bucketCount(traffic) > BUCKETS)
      throw grpcErrors.invalidArgument(
        'experiment.placement.start',
        `the range of ${bucketCount(traffic)} buckets from ${placementStart} must fit in the layer's ${BUCKETS}`,
      );
  }
  return {
    id,
    name,
    description: input.description,
    layer: input.layer,
    trafficPercent: Math.round(traffic * 100) / 100,
    salt,
    variants,
    primaryMetric: metricName(primary),
    guardrailMetrics: guardrails,
    analysis: validateAnalysis(input.analysis),
    placementStart,
  };
}

function validateVariants(variants: readonly experimentsV1.Variant[]): StoredVariant[] {
  if (variants.length < 2 || variants.length > 10) throw grpcErrors.invalidArgument('experiment.variants', 'between 2 and 10 variants');
  const names = new Set<string>();
  let total = 0;
  const out = variants.map((v, i): StoredVariant => {
    const field = `experiment.variants[${i}]`;
    if (!VARIANT.test(v.name)) throw grpcErrors.invalidArgument(`${field}.name`, '1..32 characters of [a-z0-9_-], starting with a letter');
    if (names.has(v.name)) throw grpcErrors.invalidArgument(`${field}.name`, `"${v.name}" is used by another variant`);
    names.add(v.name);
    if (!Number.isFinite(v.weight) || v.weight <= 0 || v.weight > 100)
      throw grpcErrors.invalidArgument(`${field}.weight`, `must be in (0, 100] percent, got ${v.weight}`);
    total += v.weight;
    if ((v.description ?? '').length > 500) throw grpcErrors.invalidArgument(`${field}.description`, 'at most 500 characters');
    const model = v.modelVersion ?? '';
    const strategy = v.strategy ?? ServingStrategy.SERVING_STRATEGY_UNSPECIFIED;
    if (model && strategy !== ServingStrategy.SERVING_STRATEGY_UNSPECIFIED)
      throw grpcErrors.invalidArgument(`${field}.treatment`, 'either a model version or a strategy, not both');
    if (model) {
      if (!MODEL_VERSION.test(model)) throw grpcErrors.invalidArgument(`${field}.model_version`, 'not a model version identifier');
      return { name: v.name, weight: v.weight, control: v.control, modelVersion: model, description: v.description ?? '' };
    }
    if (strategy === ServingStrategy.SERVING_STRATEGY_PROMOTED || strategy === ServingStrategy.SERVING_STRATEGY_POPULAR) {
      const name = strategy === ServingStrategy.SERVING_STRATEGY_PROMOTED ? 'PROMOTED' : 'POPULAR';
      return { name: v.name, weight: v.weight, control: v.control, strategy: name, description: v.description ?? '' };
    }
    throw grpcErrors.invalidArgument(`${field}.treatment`, 'a model version or a serving strategy is required');
  });
  if (Math.abs(total - 100) > TOLERANCE)
    throw grpcErrors.invalidArgument('experiment.variants', `weights must sum to 100 percent, got ${Number(total.toFixed(6))}`);
  const controls = out.filter((v) => v.control).length;
  if (controls !== 1) throw grpcErrors.invalidArgument('experiment.variants', `exactly one control variant is required, got ${controls}`);
  return out;
}

function validateAnalysis(input: experimentsV1.AnalysisSettings | undefined): Analysis {
  const a = input ?? { alpha: 0, sequential: false, sequentialTuning: 0, cupedDisabled: false, cupedLookbackDays: 0 };
  const alpha = a.alpha || DEFAULT_ANALYSIS.alpha;
  if (!(alpha > 0 && alpha < 0.5)) throw grpcErrors.invalidArgument('experiment.analysis.alpha', 'must be in (0, 0.5)');
  const tuning = a.sequentialTuning || DEFAULT_ANALYSIS.sequentialTuning;
  if (!(tuning > 0 && Number.isFinite(tuning)))
    throw grpcErrors.invalidArgument('experiment.analysis.sequential_tuning', 'must be positive');
  const lookback = a.cupedLookbackDays || DEFAULT_ANALYSIS.cupedLookbackDays;
  if (!Number.isInteger(lookback) || lookback > 90)
    throw grpcErrors.invalidArgument('experiment.analysis.cuped_lookback_days', 'at most 90');
  return { alpha, sequential: a.sequential, sequentialTuning: tuning, cupedDisabled: a.cupedDisabled, cupedLookbackDays: lookback };
}

function isMetric(m: experimentsV1.Metric): boolean {
  return m !== Metric.METRIC_UNSPECIFIED && Metric[m] !== undefined && m !== Metric.UNRECOGNIZED;
}
