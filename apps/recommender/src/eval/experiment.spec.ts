import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticRatingsCsv } from '../testing/synthetic';
import { loadTf } from '../tf/tf-backend';
import { readMovieLens } from '../data/readers';
import { coldStartSplit } from './cold-start';
import { parseSplit, prepare, prepareSplits, runExperiment } from './experiment';
import { jsonLine, selectOnValidation } from './report';

jest.setTimeout(60_000);

const dir = mkdtempSync(join(tmpdir(), 'recs-experiment-'));
const source = join(dir, 'ratings.csv');
writeFileSync(source, syntheticRatingsCsv({ users: 60, items: 160, clusters: 4, perUser: 16 }));

beforeAll(async () => {
  await loadTf('auto');
});

describe('evaluation splits', () => {
  it('parses the split options and refuses bad ones', () => {
    expect(parseSplit('loo')).toEqual({ mode: 'leave-one-out' });
    expect(parseSplit('temporal:0.2')).toEqual({ mode: 'temporal', testFraction: 0.2 });
    expect(parseSplit('kfold:5')).toEqual({ mode: 'kfold', k: 5 });
    expect(() => parseSplit('kfold:1')).toThrow(/--split/);
    expect(() => parseSplit('random:1.5')).toThrow(/--split/);
  });

  it('k-fold evaluation scores every fold full-rank, and item-item CF beats popularity on recall', async () => {
    const folds = await prepareSplits(source, { mode: 'kfold', k: 3 });
    expect(folds).toHaveLength(3);
    for (const data of folds) {
      expect(data.protocol).toBe('fold');
      const heldOut = [...data.heldOut.values()].reduce((n, s) => n + s.size, 0);
      expect(heldOut).toBeGreaterThan(0);
      const [pop, knn] = await runExperiment(data, [{ name: 'itempop' }, { name: 'itemknn' }]);
      expect(pop.fullRank?.users).toBeGreaterThan(0);
      expect(knn.fullRank?.recall).toBeGreaterThan((pop.fullRank?.recall ?? 1) + 0.05);
      // Without a leave-one-out split there are no sampled metrics: null in JSON, not a made-up number.
      const line = JSON.parse(jsonLine(knn, source, { split: data.protocol }));
      expect(line['hr@10']).toBeNull();
      expect(line.full_rank['recall@10']).toBeCloseTo(knn.fullRank?.recall ?? NaN, 3);
    }
  });

  it('a temporal split tests on the latest interactions and tracks full-rank recall per epoch', async () => {
    const [data] = await prepareSplits(source, { mode: 'temporal', testFraction: 0.25 });
    const [, gmf] = await runExperiment(data, [
      { name: 'itempop' },
      { name: 'gmf', overrides: { epochs: 2, learningRate: 0.01, batchSize: 128 } },
    ]);
    expect(gmf.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(gmf.history[1].hr).toBeCloseTo(gmf.fullRank?.recall ?? NaN, 6);
  });
});

describe('selection on validation only', () => {
  it('after leave-one-out the headline is the last epoch, curves are on the validation hold-out, the test-selected epoch only a labelled diagnostic', async () => {
    const data = await prepare(source);
    const results = await runExperiment(data, [
      { name: 'itempop' },
      { name: 'gmf', overrides: { epochs: 3, learningRate: 0.01, batchSize: 128 } },
    ]);
    const gmf = results[1];
    expect(gmf.curve).toBe('validation');
    expect(gmf.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    // The validation figures come from the same settings trained without the hold-out: its last curve point.
    expect(gmf.validation?.hr).toBeCloseTo(gmf.history[2].hr, 6);
    const line = JSON.parse(jsonLine(gmf, source, { split: data.protocol }));
    expect(line['hr@10']).toBeCloseTo(gmf.sampled.hr, 3);
    expect(line).not.toHaveProperty('best_epoch');
    expect(line).not.toHaveProperty('best_hr@10');
    expect(line.diagnostic_test_selected.note).toMatch(/test split/);
    expect(line.curves).toMatchObject({ on: 'validation', loss: expect.any(Array), 'hr@10': expect.any(Array) });
    expect(line.model_bytes).toBeGreaterThan(0);
    expect(selectOnValidation(results)?.model).toBe(
      results.reduce((a, b) => ((b.validation?.hr ?? 0) > (a.validation?.hr ?? 0) ? b : a)).model,
    );
  });

  it('an ensemble blends the run’s models with weights fitted on the validation hold-out', async () => {
    const data = await prepare(source);
    const results = await runExperiment(
      data,
      [{ name: 'itempop' }, { name: 'itemknn' }, { name: 'ensemble', overrides: { members: 'itempop,itemknn' } }],
      {
        measureSize: false,
      },
    );
    const [pop, knn, ensemble] = results;
    expect(ensemble.validation?.hr).toBeGreaterThanOrEqual(Math.max(pop.validation?.hr ?? 0, knn.validation?.hr ?? 0) - 0.05);
    expect(ensemble.sampled.hr).toBeGreaterThan(pop.sampled.hr);
  });
});

describe('cold start', () => {
  it('holds items out of training entirely and ranks each user’s held-out item among other held-out items', async () => {
    const split = coldStartSplit(await readMovieLens(source), { fraction: 0.2, seed: 1 });
    const cold = new Set(split.coldItems);
    expect(split.train.items.every((i) => !cold.has(i))).toBe(true);
    split.testItem.forEach((item, u) => {
      if (item < 0) return;
      expect(cold.has(item)).toBe(true);
      expect(Array.from(split.negatives[u]).every((j) => cold.has(j) && j !== item)).toBe(true);
    });
    expect(split.trainData.popularity.filter((c, i) => cold.has(i) && c > 0)).toHaveLength(0);
  });
});
