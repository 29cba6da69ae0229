import { InteractionsBuilder } from '../data/interactions';
import { hasExplicitRatings, ratingMetrics } from './rating-metrics';

describe('rating metrics', () => {
  it('the bias baseline beats the global mean when users and items rate systematically apart', () => {
    const b = new InteractionsBuilder();
    // Ratings = 3 + user offset + item offset, on a dense 20 × 20 grid with one cell per user held out.
    const test = { users: [] as number[], items: [] as number[], ratings: [] as number[] };
    for (let u = 0; u < 20; u++) {
      for (let i = 0; i < 20; i++) {
        const r = 3 + (u % 2 === 0 ? 1 : -1) * 0.8 + (i < 10 ? 0.5 : -0.5);
        if (i === u) {
          test.users.push(u);
          test.items.push(i);
          test.ratings.push(r);
          b.userIds.add(`u${u}`);
          b.itemIds.add(`i${i}`);
        } else b.add(`u${u}`, `i${i}`, r, 0);
      }
    }
    const train = b.build();
    expect(hasExplicitRatings(train)).toBe(true);
    const [mean, baseline] = ratingMetrics(train, test);
    expect(mean.model).toBe('global-mean');
    expect(mean.mae).toBeCloseTo(0.8, 1);
    expect(baseline.mae).toBeLessThan(0.3);
    expect(baseline.rmse).toBeLessThan(mean.rmse);
  });
});
