import { experimentsV1 } from '@pulse/contracts';
import type { Logger } from '@pulse/platform';
import type { Peers } from '../peers/peers';
import { ExperimentsController } from './experiments.controller';

const { Metric, MetricKind, Verdict } = experimentsV1;
const lift = (estimate: number, ciLower: number, ciUpper: number, pValue: number) => ({
  available: true,
  estimate,
  ciLower,
  ciUpper,
  pValue,
  standardError: 0,
  degreesOfFreedom: 0,
});

/** The results of a 50/50 test in which the popularity list lost on CTR, and of the same with a lossy variant. */
function results(mismatch: boolean): experimentsV1.GetResultsResponse {
  return {
    results: {
      experimentId: 'demo-ab',
      tableVersion: 885,
      computedAt: { seconds: 1_796_432_000, nanos: 0 },
      srm: { chiSquare: mismatch ? 14.79 : 0.0952, pValue: mismatch ? 1.2e-4 : 0.7576, mismatch },
      variants: [
        { name: 'control', control: true, weight: 50, users: 82, exposures: 418, observedShare: 0.488 },
        { name: 'popular', control: false, weight: 50, users: 86, exposures: 325, observedShare: 0.512 },
      ],
      metrics: [
        {
          metric: Metric.METRIC_CTR,
          primary: true,
          kind: MetricKind.METRIC_KIND_RATIO,
          higherIsBetter: true,
          variants: [
            {
              variant: 'control',
              users: 82,
              mean: 0.1291,
              variance: 0,
              adjustedMean: 0,
              adjustedVariance: 0,
              numerator: 0,
              denominator: 0,
            },
            {
              variant: 'popular',
              users: 86,
              mean: 0.0554,
              variance: 0,
              adjustedMean: 0,
              adjustedVariance: 0,
              numerator: 0,
              denominator: 0,
            },
          ],
          comparisons: [
            {
              variant: 'popular',
              absolute: lift(-0.0737, -0.1339, -0.0135, 0.017),
              relative: lift(-0.5709, -0.795, -0.3467, 0.017),
              cupedApplied: false,
              cupedTheta: 0,
              varianceReduction: 0,
              verdict: mismatch ? Verdict.VERDICT_WITHHELD : Verdict.VERDICT_WORSE,
            },
          ],
        },
      ],
      verdict: mismatch ? Verdict.VERDICT_WITHHELD : Verdict.VERDICT_WORSE,
      verdictReason: mismatch ? 'sample ratio mismatch' : 'every treatment is worse than the control on ctr',
    } as experimentsV1.ExperimentResults,
  };
}

function controller(answer: unknown): { c: ExperimentsController; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const peers = { call: async (...args: unknown[]) => (calls.push(args), answer) } as unknown as Peers;
  return { c: new ExperimentsController(peers, { warn: () => undefined } as unknown as Logger), calls };
}

describe('experiments page', () => {
  it('shows the verdict, the passing SRM check, each variant and the lift with its interval, drawn around 0', async () => {
    const { c, calls } = controller(results(false));
    const html = await c.experiment('demo-ab');
    expect(calls[0]).toEqual(['experiments', 'GetResults', { id: 'demo-ab' }]);
    expect(html).toContain('data-verdict="WORSE"');
    expect(html).toContain('data-srm="ok"');
    expect(html).toMatch(/data-variant="popular"[\s\S]*-0.0737 \[-0.1339, -0.0135\][\s\S]*-57.09 % \[-79.5 %, -34.67 %\]/);
    expect(html).toContain('<svg class="lift-chart"');
    expect(html).toContain('CTR · popular');
  });

  it('says the sample ratio check failed and that the verdicts are withheld', async () => {
    const html = await controller(results(true)).c.experiment('demo-ab');
    expect(html).toContain('data-srm="mismatch"');
    expect(html).toContain('MISMATCH: verdicts withheld');
    expect(html).toContain('data-verdict="WITHHELD"');
  });

  it('refuses an id that is not one before asking the service', async () => {
    const { c, calls } = controller(results(false));
    expect(await c.experiment('../etc')).toContain('not an experiment id');
    expect(calls).toEqual([]);
  });
});
