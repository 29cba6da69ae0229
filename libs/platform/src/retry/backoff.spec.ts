import { backoffDelayMs, sleep } from './backoff';

describe('backoffDelayMs', () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 1_000, multiplier: 2 };

  it('doubles the delay from one retry to the next, up to the ceiling', () => {
    const top = () => 1;
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelayMs(policy, attempt, top))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('keeps at least half of the delay and spreads the rest at random', () => {
    expect(backoffDelayMs(policy, 3, () => 0)).toBe(200);
    expect(backoffDelayMs(policy, 3, () => 0.5)).toBe(300);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelayMs(policy, 3);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
    }
  });
});

describe('sleep', () => {
  it('ends at once when its signal aborts', async () => {
    const abort = new AbortController();
    const started = Date.now();
    const waiting = sleep(60_000, abort.signal);
    abort.abort();
    await waiting;
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
