import { dailyRhythm, EventRateLimiter } from './rate-limiter';

/** Runs sessions of `size` events against the limiter on a fake clock for `seconds`; returns the events let through. */
function drive(limiter: EventRateLimiter, clock: { t: number }, seconds: number, size = 25): number {
  const end = clock.t + seconds * 1000;
  let events = 0;
  while (clock.t < end) {
    const wait = limiter.waitMs();
    if (wait === Infinity) {
      clock.t = end;
    } else if (wait > 0) {
      clock.t += wait;
    } else {
      limiter.take(size);
      events += size;
    }
  }
  return events;
}

describe('EventRateLimiter', () => {
  it('lets the target rate through on average, whatever the session size', () => {
    for (const size of [1, 25, 200]) {
      const clock = { t: 0 };
      const limiter = new EventRateLimiter({ rate: 50, dayPeriodMs: 0, now: () => clock.t });
      const events = drive(limiter, clock, 600, size);
      expect(events / 600).toBeGreaterThan(49);
      expect(events / 600).toBeLessThan(51 + size / 600);
    }
  });

  it('pauses at rate 0 and resumes when a rate is set', () => {
    const clock = { t: 0 };
    const limiter = new EventRateLimiter({ rate: 0, dayPeriodMs: 0, now: () => clock.t });
    expect(limiter.waitMs()).toBe(Infinity);
    expect(drive(limiter, clock, 10)).toBe(0);
    limiter.setRate(20);
    expect(drive(limiter, clock, 100, 10) / 100).toBeCloseTo(20, 0);
  });

  it('halves the rate on backpressure and wins it back on success', () => {
    const clock = { t: 0 };
    const limiter = new EventRateLimiter({ rate: 100, dayPeriodMs: 0, now: () => clock.t });
    limiter.backOff();
    limiter.backOff();
    expect(limiter.currentRate).toBeCloseTo(25);
    expect(drive(limiter, clock, 100, 10) / 100).toBeLessThan(26);
    for (let i = 0; i < 30; i++) limiter.recover();
    expect(limiter.currentRate).toBe(100);
  });

  it('follows the daily rhythm: quiet in the morning, busy in the evening, the set rate on average', () => {
    const day = 3_600_000;
    expect(dailyRhythm((6 / 24) * day, day)).toBeCloseTo(0.4);
    expect(dailyRhythm((18 / 24) * day, day)).toBeCloseTo(1.6);
    const mean = Array.from({ length: 1440 }, (_, m) => dailyRhythm((m / 1440) * day, day)).reduce((s, f) => s + f, 0) / 1440;
    expect(mean).toBeCloseTo(1, 5);
  });
});
