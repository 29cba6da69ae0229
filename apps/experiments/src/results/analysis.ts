import type { MetricDefinition } from './metrics';
import {
  adjustedStatistic,
  cupedTheta,
  type LiftResult,
  lift,
  sampleRatioMismatch,
  type Statistic,
  statistic,
  type TestSettings,
  type VariantSums,
} from './statistics';

/** p below which the split is declared broken (Microsoft ExP's and GrowthBook's threshold). */
export const SRM_THRESHOLD = 0.001;

export type Verdict = 'BETTER' | 'WORSE' | 'INCONCLUSIVE' | 'WITHHELD' | 'NOT_ENOUGH_DATA';

export interface VariantInput {
  name: string;
  control: boolean;
  weight: number;
  exposures: number;
  /** Sums per metric name. */
  sums: Map<string, VariantSums>;
  users: number;
}

export interface ComparisonResult {
  variant: string;
  absolute: LiftResult;
  relative: LiftResult;
  cupedApplied: boolean;
  cupedTheta: number;
  varianceReduction: number;
  verdict: Verdict;
}

export interface MetricAnalysis {
  metric: MetricDefinition;
  primary: boolean;
  variants: { variant: string; users: number; statistic: Statistic; adjusted: Statistic; numerator: number; denominator: number }[];
  comparisons: ComparisonResult[];
}

export interface Analysis {
  srm: { chiSquare: number; pValue: number; mismatch: boolean };
  metrics: MetricAnalysis[];
  verdict: Verdict;
  verdictReason: string;
}

export interface AnalysisOptions extends TestSettings {
  cuped: boolean;
}

/**
 * An experiment's analysis, SRM first: when the users per variant do not match the weights (p < 0.001), every
 * verdict is withheld. Each treatment is compared with the control on each metric; a verdict is the absolute lift's
 * significance in the metric's good or bad direction.
 */
export function analyse(
  variants: readonly VariantInput[],
  metrics: readonly { definition: MetricDefinition; primary: boolean }[],
  options: AnalysisOptions,
): Analysis {
  const srmTest = sampleRatioMismatch(
    variants.map((v) => v.users),
    variants.map((v) => v.weight),
  );
  const srm = { ...srmTest, mismatch: srmTest.pValue < SRM_THRESHOLD };
  const control = variants.find((v) => v.control);
  if (!control) throw new Error('an experiment has a control variant');
  const ordered = [control, ...variants.filter((v) => v !== control)];
  const analyses = metrics.map(({ definition, primary }) => analyseMetric(definition, primary, ordered, options, srm.mismatch));
  return { srm, metrics: analyses, ...overallVerdict(analyses, srm) };
}

function analyseMetric(
  metric: MetricDefinition,
  primary: boolean,
  ordered: readonly VariantInput[],
  options: AnalysisOptions,
  srmMismatch: boolean,
): MetricAnalysis {
  const sums = ordered.map((v) => v.sums.get(metric.name)!);
  const plain = sums.map((s) => statistic(metric.kind, s));
  const rows = ordered.map((v, i) => ({
    variant: v.name,
    users: sums[i].users,
    statistic: plain[i],
    adjusted: plain[i],
    numerator: sums[i].main.sum,
    denominator: metric.kind === 'ratio' ? sums[i].denominator!.sum : sums[i].users,
  }));
  const comparisons = ordered.slice(1).map((v, k) => {
    const i = k + 1;
    let a = plain[0];
    let b = plain[i];
    let theta = 0;
    if (options.cuped && metric.kind !== 'ratio') {
      theta = cupedTheta(metric.kind, sums[0], sums[i]);
      if (theta !== 0) {
        a = adjustedStatistic(metric.kind, sums[0], theta);
        b = adjustedStatistic(metric.kind, sums[i], theta);
        rows[i].adjusted = b;
        // With several treatments the control's adjustment depends on the pair; the first pair's is shown.
        if (k === 0) rows[0].adjusted = a;
      }
    }
    const absolute = lift(a, b, false, options);
    const relative = lift(a, b, true, options);
    const unadjusted = plain[0].variance / plain[0].n + plain[i].variance / plain[i].n;
    const adjusted = a.variance / a.n + b.variance / b.n;
    return {
      variant: v.name,
      absolute,
      relative,
      cupedApplied: theta !== 0,
      cupedTheta: theta,
      varianceReduction: theta !== 0 && unadjusted > 0 ? 1 - adjusted / unadjusted : 0,
      verdict: verdictOf(absolute, metric.higherIsBetter, options.alpha, srmMismatch),
    };
  });
  return { metric, primary, variants: rows, comparisons };
}

function verdictOf(absolute: LiftResult, higherIsBetter: boolean, alpha: number, srmMismatch: boolean): Verdict {
  if (srmMismatch) return 'WITHHELD';
  if (!absolute.available) return 'NOT_ENOUGH_DATA';
  if (absolute.pValue >= alpha || absolute.estimate === 0) return 'INCONCLUSIVE';
  return absolute.estimate > 0 === higherIsBetter ? 'BETTER' : 'WORSE';
}

function overallVerdict(analyses: readonly MetricAnalysis[], srm: Analysis['srm']): { verdict: Verdict; verdictReason: string } {
  if (srm.mismatch)
    return {
      verdict: 'WITHHELD',
      verdictReason: `sample ratio mismatch: the users per variant do not match the weights (chi-square ${srm.chiSquare.toFixed(2)}, p = ${srm.pValue.toExponential(2)} < ${SRM_THRESHOLD}); fix assignment or logging before reading any result`,
    };
  const primary = analyses.find((a) => a.primary);
  if (!primary || primary.comparisons.every((c) => c.verdict === 'NOT_ENOUGH_DATA'))
    return { verdict: 'NOT_ENOUGH_DATA', verdictReason: 'not enough exposed users (or no variance) to compare the variants yet' };
  const name = primary.metric.name.toLowerCase();
  const guardrailsWorse = (variant: string) =>
    analyses
      .filter((a) => !a.primary && a.comparisons.some((c) => c.variant === variant && c.verdict === 'WORSE'))
      .map((a) => a.metric.name.toLowerCase());
  const winners = primary.comparisons.filter((c) => c.verdict === 'BETTER').sort((x, y) => x.absolute.pValue - y.absolute.pValue);
  for (const w of winners) {
    const worse = guardrailsWorse(w.variant);
    if (worse.length === 0)
      return { verdict: 'BETTER', verdictReason: `${w.variant} beats the control on ${name} (${describe(w)}) and no guardrail is worse` };
  }
  if (winners.length > 0) {
    const w = winners[0];
    return {
      verdict: 'WORSE',
      verdictReason: `${w.variant} beats the control on ${name} (${describe(w)}) but guardrail ${guardrailsWorse(w.variant).join(', ')} is worse`,
    };
  }
  const withData = primary.comparisons.filter((c) => c.verdict !== 'NOT_ENOUGH_DATA');
  if (withData.length > 0 && withData.every((c) => c.verdict === 'WORSE'))
    return { verdict: 'WORSE', verdictReason: `every treatment is worse than the control on ${name}` };
  return { verdict: 'INCONCLUSIVE', verdictReason: `no treatment differs significantly from the control on ${name} yet` };
}

function describe(c: ComparisonResult): string {
  const rel = c.relative.available ? `${(c.relative.estimate * 100).toFixed(2)} %` : `${c.absolute.estimate.toPrecision(3)}`;
  return `${rel}, p = ${c.absolute.pValue.toPrecision(2)}`;
}
