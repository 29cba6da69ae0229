import { trainingData } from '../models/model';
import { ncfConfig, NcfModel } from '../models/ncf.model';
import { InteractionsBuilder } from '../data/interactions';
import { loadTf } from './tf-backend';

jest.setTimeout(60_000);

describe('the plain JavaScript cpu backend', () => {
  it('runs the same training step (one-hot segment sums) and lowers the loss', async () => {
    const loaded = await loadTf('cpu');
    expect(loaded.tf.getBackend()).toBe('cpu');
    const b = new InteractionsBuilder();
    for (let u = 0; u < 20; u++) for (let i = 0; i < 6; i++) b.add(`u${u}`, `i${(u % 2) * 6 + i}`, 1, i);
    for (let i = 12; i < 30; i++) b.add('u0', `i${i}`, 1, 0);
    const model = new NcfModel(ncfConfig('gmf', { epochs: 5, learningRate: 0.02, batchSize: 64 }));
    const fit = await model.fit(trainingData(b.build()));
    expect(fit.losses[4]).toBeLessThan(fit.losses[0]);
    model.dispose();
  });
});
