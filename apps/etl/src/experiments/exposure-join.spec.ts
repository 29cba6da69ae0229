import { ExposureJoin, type OutcomeFacts, type ServedFacts } from './exposure-join';

const MIN = 60_000;
const T0 = Date.UTC(2024, 6, 1, 12);

const served = (id: string, at: number, experimentId = 'exp-1', variant = 'control'): { served: ServedFacts } => ({
  served: {
    recommendationId: id,
    experimentId,
    variant,
    userId: `u-${id}`,
    servedAt: at,
    modelVersion: 'v1',
    strategy: 'PERSONALIZED',
    items: '[]',
    itemCount: 10,
  },
});
const outcome = (id: string, type: string, at: number, dwellMs = 0): { outcome: OutcomeFacts } => ({
  outcome: { recommendationId: id, type, occurredAt: at, dwellMs },
});
/** Advances the watermark: an event of another list far enough ahead. */
const tick = (at: number) => served(`tick-${at}`, at, '', '');

describe('ExposureJoin', () => {
  // 30 min window, 2 min watermark delay, 5 min allowed lateness.
  const join = () => new ExposureJoin(30 * MIN, 2 * MIN, 5 * MIN);

  it('emits an exposure once its window plus the lateness has passed the watermark, with the outcomes in its window', () => {
    const j = join();
    let e = j.process([
      served('r1', T0),
      outcome('r1', 'CLICK', T0 + MIN),
      outcome('r1', 'VIEW', T0 + 2 * MIN, 4200),
      outcome('r1', 'LIKE', T0 + 3 * MIN),
    ]);
    expect(e.exposures).toEqual([]);
    expect(e.outcomes.matched).toBe(3);
    e = j.process([outcome('r1', 'SHARE', T0 + 31 * MIN), tick(T0 + 36 * MIN)]);
    expect(e.outcomes.outside_window).toBe(1);
    expect(e.exposures).toEqual([]); // watermark T0 + 34 min < window end + lateness (T0 + 35 min)
    e = j.process([tick(T0 + 38 * MIN)]);
    expect(e.exposures).toHaveLength(1);
    expect(e.exposures[0]).toMatchObject({ recommendationId: 'r1', dwellMs: 4200, lateExposure: false, firstOutcomeAt: T0 + MIN });
    expect(e.exposures[0].counts).toMatchObject({ CLICK: 1, VIEW: 1, LIKE: 1, SHARE: 0 });
    expect(j.process([tick(T0 + 60 * MIN)]).exposures).toEqual([]);
  });

  it('attributes an outcome that arrives before its list, and counts outcomes without any list', () => {
    const j = join();
    expect(j.process([outcome('r2', 'CLICK', T0 + MIN), outcome('nobody', 'CLICK', T0 + MIN)]).outcomes.matched).toBe(0);
    expect(j.process([served('r2', T0)]).outcomes.matched).toBe(1);
    const e = j.process([tick(T0 + 45 * MIN)]);
    expect(e.outcomes.no_exposure).toBe(1);
    expect(e.exposures.map((x) => [x.recommendationId, x.counts.CLICK])).toEqual([['r2', 1]]);
  });

  it('counts late outcomes and outcomes of lists outside experiments, and writes a late list at once', () => {
    const j = join();
    j.process([served('plain', T0, '', ''), served('r3', T0)]);
    const e1 = j.process([outcome('plain', 'CLICK', T0 + MIN), tick(T0 + 50 * MIN)]);
    expect(e1.outcomes.not_in_experiment).toBe(1);
    expect(e1.exposures.map((x) => x.recommendationId)).toEqual(['r3']);
    const e2 = j.process([outcome('r3', 'CLICK', T0 + 2 * MIN)]);
    expect(e2.outcomes.late).toBe(1);
    const e3 = j.process([served('old', T0 + MIN), outcome('old', 'CLICK', T0 + 2 * MIN)]);
    expect(e3.exposures).toHaveLength(1);
    expect(e3.exposures[0]).toMatchObject({ recommendationId: 'old', lateExposure: true });
    expect(e3.outcomes.late).toBe(1);
  });

  it('resumes from a snapshot with the same results', () => {
    const a = join();
    a.process([served('r4', T0), outcome('r5', 'LIKE', T0 + MIN)]);
    const b = join();
    b.restore(JSON.parse(JSON.stringify(a.snapshot())));
    const rest = [served('r5', T0), outcome('r4', 'HIDE', T0 + 3 * MIN), tick(T0 + 60 * MIN)];
    expect(b.process(rest)).toEqual(a.process(rest));
  });
});
