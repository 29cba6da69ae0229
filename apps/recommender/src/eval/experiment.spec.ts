import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticRatingsCsv } from '../testing/synthetic';
import { loadTf } from '../tf/tf-backend';
import { parseSplit, prepareSplits, runExperiment } from './experiment';
import { jsonLine } from './report';

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
