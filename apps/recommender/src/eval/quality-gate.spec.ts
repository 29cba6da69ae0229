import { IdMap } from '../data/id-map';
import type { Recommender } from '../models/model';
import type { LoadedModel } from '../registry/model-registry';
import { type GateEvaluation, type GateScores, gateDecision, parseGateMetric, scorerInIdSpace } from './quality-gate';

const at = (hr: number, ndcg = hr / 2): GateScores => ({
  sampled: { users: 50, hr, ndcg, mrr: 0, auc: 0, k: 10 },
  fullRank: { users: 50, k: 10, precision: 0, recall: 0, f1: 0, ndcg: 0, map: 0, coverage: 0 },
});
const evaluation = (candidate: number, baseline: number, promoted?: number): GateEvaluation => ({
  candidate: at(candidate),
  baseline: at(baseline),
  promoted: promoted === undefined ? undefined : { version: 'v1', ...at(promoted) },
});
const settings = { metric: 'hr@10' as const, margin: 0.005 };

describe('quality gate', () => {
  it('promotes a candidate that beats ItemPop when nothing is promoted', () => {
    expect(gateDecision(evaluation(0.6, 0.3), settings, new Date(0))).toEqual({
      outcome: 'promoted',
      reason: "hr@10 0.6000 beats ItemPop's 0.3000; no version was promoted",
      metric: 'hr@10',
      candidateValue: 0.6,
      promotedValue: 0,
      promotedVersion: '',
      baselineValue: 0.3,
      margin: 0.005,
      decidedAt: '1970-01-01T00:00:00.000Z',
    });
  });

  it('refuses a candidate that does not beat ItemPop, even with nothing promoted', () => {
    expect(gateDecision(evaluation(0.3, 0.3), settings)).toMatchObject({
      outcome: 'refused',
      reason: "hr@10 0.3000 does not beat ItemPop's 0.3000",
    });
  });

  it('promotes only by the margin over the promoted version, and compares the metric asked for', () => {
    expect(gateDecision(evaluation(0.52, 0.3, 0.5), settings)).toMatchObject({
      outcome: 'promoted',
      reason: "hr@10 0.5200 beats promoted v1's 0.5000 by 0.0200 (margin 0.005) and ItemPop's 0.3000",
      promotedVersion: 'v1',
      promotedValue: 0.5,
    });
    expect(gateDecision(evaluation(0.503, 0.3, 0.5), settings)).toMatchObject({
      outcome: 'refused',
      reason: "hr@10 0.5030 does not beat promoted v1's 0.5000 by the margin 0.005 (+0.0030)",
    });
    expect(gateDecision(evaluation(0.5, 0.3, 0.5), { metric: 'hr@10', margin: 0 }).outcome).toBe('refused');
    expect(gateDecision(evaluation(0.6, 0.3, 0.5), { metric: 'ndcg@10', margin: 0.01 })).toMatchObject({
      outcome: 'promoted',
      metric: 'ndcg@10',
      candidateValue: 0.3,
      promotedValue: 0.25,
    });
  });

  it('refuses when there is no held-out interaction to evaluate on', () => {
    const empty = evaluation(0, 0);
    empty.candidate.sampled.users = 0;
    expect(gateDecision(empty, settings)).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/no user has a held-out/) });
  });

  it('parses the metric names', () => {
    expect(parseGateMetric('NDCG@10')).toBe('ndcg@10');
    expect(() => parseGateMetric('auc')).toThrow(/expected hr@10 or ndcg@10/);
  });
});

describe('a promoted version scored in the candidate’s id spaces', () => {
  // The promoted version knows users a, b and items x, y (model score = 10 × user + item).
  const model = {
    scorePairs: (users: Int32Array, items: Int32Array) => Float32Array.from(users, (u, k) => 10 * u + items[k]),
    scoreUser: (u: number) => Float32Array.from([10 * u, 10 * u + 1]),
  } as unknown as Recommender;
  const loaded = {
    model,
    users: IdMap.from(['a', 'b']),
    items: IdMap.from(['x', 'y']),
    popularity: Float32Array.from([5, 7]),
  } as LoadedModel;
  // The candidate's spaces: users b, c (c unknown to the promoted version), items y, z (z unknown), x.
  const scorer = scorerInIdSpace(loaded, IdMap.from(['b', 'c']), IdMap.from(['y', 'z', 'x']));

  it('scores known users with the model, unknown users by popularity, and unknown items below everything', () => {
    expect(Array.from(scorer.scorePairs(Int32Array.from([0, 0, 1, 1, 0]), Int32Array.from([0, 1, 0, 2, 2])))).toEqual([
      11,
      -Infinity,
      7,
      5,
      10,
    ]);
    expect(Array.from(scorer.scoreUser(0))).toEqual([11, -Infinity, 10]);
    expect(Array.from(scorer.scoreUser(1))).toEqual([7, -Infinity, 5]);
  });
});
