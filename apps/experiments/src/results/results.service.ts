import { Injectable } from '@nestjs/common';
import { experimentsV1, millisToTimestamp } from '@pulse/contracts';
import { grpcErrors } from '@pulse/platform';
import type { ExperimentRecord } from '../experiments/experiment';
import { metricValue } from '../experiments/experiment';
import { type Analysis, analyse, type VariantInput } from './analysis';
import { ExposuresLakeReader } from './exposures.lake.reader';
import { metricDefinition } from './metrics';
import type { LiftResult, Statistic } from './statistics';

const { MetricKind, Verdict } = experimentsV1;

/** GetResults: the experiment's exposures from the lake, analysed (SRM first, CUPED, delta method, Welch or sequential). */
@Injectable()
export class ResultsService {
  constructor(private readonly reader: ExposuresLakeReader) {}

  async results(experiment: ExperimentRecord, tableVersion: number, now = Date.now()): Promise<experimentsV1.ExperimentResults> {
    if (experiment.status === 'DRAFT' || experiment.startedAt === null)
      throw grpcErrors.failedPrecondition(`experiment ${experiment.id} has not started: no exposures to analyse`, 'id');
    if (tableVersion < 0) throw grpcErrors.invalidArgument('table_version', 'must be 0 (the latest) or a version of the table');
    const metrics = [
      { definition: metricDefinition(experiment.primaryMetric), primary: true },
      ...experiment.guardrailMetrics.map((m) => ({ definition: metricDefinition(m), primary: false })),
    ];
    const a = experiment.analysis;
    const data = await this.reader.read(
      { id: experiment.id, startedAt: experiment.startedAt, cupedLookbackDays: a.cupedLookbackDays, cuped: !a.cupedDisabled },
      metrics.map((m) => m.definition),
      tableVersion,
    );
    const inputs: VariantInput[] = experiment.variants.map((v) => {
      const found = data.variants.get(v.name);
      return {
        name: v.name,
        control: v.control,
        weight: v.weight,
        users: found?.users ?? 0,
        exposures: found?.exposures ?? 0,
        sums: found?.sums ?? emptySums(metrics.map((m) => m.definition.name)),
      };
    });
    const analysis = analyse(inputs, metrics, {
      alpha: a.alpha,
      sequential: a.sequential,
      sequentialTuning: a.sequentialTuning,
      cuped: !a.cupedDisabled,
    });
    return toProto(experiment, inputs, analysis, data.tableVersion, data.dataThrough, now);
  }
}

function emptySums(names: readonly string[]) {
  const zero = { sum: 0, sumSquares: 0 };
  return new Map(
    names.map((n) => [
      n,
      { users: 0, main: zero, denominator: zero, mainDenominatorProducts: 0, covariate: zero, mainCovariateProducts: 0 },
    ]),
  );
}

function verdictValue(v: string): experimentsV1.Verdict {
  return Verdict[`VERDICT_${v}` as keyof typeof Verdict] as experimentsV1.Verdict;
}

function liftProto(l: LiftResult): experimentsV1.Lift {
  return { ...l };
}

function stat(s: Statistic) {
  return { mean: s.mean, variance: s.variance };
}

function toProto(
  experiment: ExperimentRecord,
  inputs: readonly VariantInput[],
  analysis: Analysis,
  tableVersion: number,
  dataThrough: number | null,
  now: number,
): experimentsV1.ExperimentResults {
  const total = inputs.reduce((s, v) => s + v.users, 0);
  return {
    experimentId: experiment.id,
    tableVersion,
    computedAt: millisToTimestamp(now),
    srm: { ...analysis.srm },
    variants: inputs.map((v) => ({
      name: v.name,
      control: v.control,
      weight: v.weight,
      users: v.users,
      exposures: v.exposures,
      observedShare: total === 0 ? 0 : v.users / total,
    })),
    metrics: analysis.metrics.map((m) => ({
      metric: metricValue(m.metric.name),
      primary: m.primary,
      kind:
        m.metric.kind === 'ratio'
          ? MetricKind.METRIC_KIND_RATIO
          : m.metric.kind === 'proportion'
            ? MetricKind.METRIC_KIND_PROPORTION
            : MetricKind.METRIC_KIND_MEAN,
      higherIsBetter: m.metric.higherIsBetter,
      variants: m.variants.map((v) => ({
        variant: v.variant,
        users: v.users,
        ...stat(v.statistic),
        adjustedMean: v.adjusted.mean,
        adjustedVariance: v.adjusted.variance,
        numerator: v.numerator,
        denominator: v.denominator,
      })),
      comparisons: m.comparisons.map((c) => ({
        variant: c.variant,
        absolute: liftProto(c.absolute),
        relative: liftProto(c.relative),
        cupedApplied: c.cupedApplied,
        cupedTheta: c.cupedTheta,
        varianceReduction: c.varianceReduction,
        verdict: verdictValue(c.verdict),
      })),
    })),
    verdict: verdictValue(analysis.verdict),
    verdictReason: analysis.verdictReason,
    analysis: { ...experiment.analysis },
    dataThrough: dataThrough === null ? undefined : millisToTimestamp(dataThrough),
    prePeriodStart: millisToTimestamp(experiment.startedAt! - experiment.analysis.cupedLookbackDays * 86_400_000),
  };
}
