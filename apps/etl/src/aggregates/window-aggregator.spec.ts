import { ACTIVITY_AGGREGATES, type ActivityFacts, type AggregateDefinition } from './aggregate-definitions';
import { WindowAggregator } from './window-aggregator';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2024, 5, 1, 10); // 10:00
const def = (name: string): AggregateDefinition => ACTIVITY_AGGREGATES.find((a) => a.name === name)!;

let seq = 0;
function ev(at: number, type: string, post = 'p1', user = 'u1'): ActivityFacts {
  return { eventId: `e${seq++}`, userId: user, type, targetType: 'POST', targetId: post, occurredAt: at };
}

describe('WindowAggregator', () => {
  it('counts a tumbling window per post and emits it as final once the watermark passes end + lateness', () => {
    const agg = new WindowAggregator(def('post_engagement_1h'), 2 * MIN, 5 * MIN);
    const first = agg.process([
      ev(T0 + MIN, 'IMPRESSION'),
      ev(T0 + 2 * MIN, 'IMPRESSION'),
      ev(T0 + 3 * MIN, 'CLICK'),
      ev(T0 + 4 * MIN, 'LIKE', 'p2'),
    ]);
    expect(first.finals).toEqual([]);
    expect(first.updates.map((u) => [u.group, u.counters.slice(0, 4), u.updateCount])).toEqual([
      ['p1', [2, 0, 1, 0], 1],
      ['p2', [0, 0, 0, 1], 1],
    ]);
    expect(first.updates[0].derived).toEqual([0, 0.5]); // engagements, ctr
    // 11:06 → watermark 11:04: the 10:00 window is still within its lateness (ends 11:00 + 5 min).
    const second = agg.process([ev(T0 + HOUR + 6 * MIN, 'VIEW', 'p3')]);
    expect(second.finals).toEqual([]);
    expect(second.updates.map((u) => u.group)).toEqual(['p3']);
    // A late event within the allowed lateness still counts, as an update.
    const third = agg.process([ev(T0 + 30 * MIN, 'LIKE')]);
    expect(third.late).toEqual([]);
    expect(third.updates).toEqual([expect.objectContaining({ group: 'p1', updateCount: 2, counters: [2, 0, 1, 1, 0, 0, 0, 0] })]);
    // 11:08 → watermark 11:06 ≥ 11:05: final, once, with the total.
    const fourth = agg.process([ev(T0 + HOUR + 8 * MIN, 'VIEW', 'p3')]);
    expect(fourth.finals.map((f) => [f.group, f.start, f.isFinal, f.updateCount])).toEqual([
      ['p1', T0, true, 3],
      ['p2', T0, true, 2],
    ]);
    // Now the 10:00 window is closed: its events are late, with the reason.
    const fifth = agg.process([ev(T0 + 59 * MIN, 'LIKE')]);
    expect(fifth.late).toEqual([expect.objectContaining({ reason: 'WINDOW_CLOSED' })]);
    expect(fifth.updates).toEqual([]);
  });

  it('assigns an event to every sliding window that contains it', () => {
    const agg = new WindowAggregator(def('user_actions_1h'), 0, 0);
    const out = agg.process([ev(T0 + 20 * MIN, 'VIEW')]);
    expect(out.updates.map((u) => [(u.start - T0) / MIN, (u.end - T0) / MIN])).toEqual([
      [-30, 30],
      [-15, 45],
      [0, 60],
      [15, 75],
    ]);
    expect(out.updates.every((u) => u.counters[0] === 1 && u.counters[1] === 1)).toBe(true);
  });

  it('merges events into sessions separated by the gap and closes them by watermark', () => {
    const agg = new WindowAggregator(def('user_sessions'), 2 * HOUR, 0);
    agg.process([ev(T0, 'VIEW'), ev(T0 + 10 * MIN, 'LIKE'), ev(T0 + 90 * MIN, 'VIEW')]);
    // An event bridging nothing: 10:25 extends the first session (gap 30 min).
    agg.process([ev(T0 + 25 * MIN, 'VIEW')]);
    const out = agg.process([ev(T0 + 5 * HOUR, 'VIEW')]);
    expect(out.finals.map((f) => [(f.start - T0) / MIN, (f.end - T0) / MIN, f.counters, f.derived])).toEqual([
      [0, 55, [3, 2, 1], [25 * 60]],
      [90, 120, [1, 1, 0], [0]],
    ]);
  });

  it('resumes from a snapshot with exactly the results of an uninterrupted run', () => {
    const events = Array.from({ length: 400 }, (_, i) =>
      ev(T0 + ((i * 7919) % (3 * HOUR)) + i * 1000, ['VIEW', 'LIKE', 'CLICK', 'IMPRESSION'][i % 4], `p${i % 9}`, `u${i % 5}`),
    );
    for (const name of ['post_engagement_1h', 'user_actions_1h', 'user_sessions']) {
      const straight = new WindowAggregator(def(name), 2 * MIN, 5 * MIN);
      const resumed = new WindowAggregator(def(name), 2 * MIN, 5 * MIN);
      const a: unknown[] = [];
      const b: unknown[] = [];
      for (let i = 0; i < events.length; i += 50) a.push(straight.process(events.slice(i, i + 50)));
      for (let i = 0; i < events.length; i += 50) {
        const state = JSON.parse(JSON.stringify(resumed.snapshot()));
        const fresh = new WindowAggregator(def(name), 2 * MIN, 5 * MIN);
        fresh.restore(state);
        b.push(fresh.process(events.slice(i, i + 50)));
        resumed.restore(fresh.snapshot());
      }
      expect(b).toEqual(a);
    }
  });

  it("forgets an erased user's open windows, sliding and session: they are never emitted and leave the state", () => {
    for (const name of ['user_actions_1h', 'user_sessions']) {
      const agg = new WindowAggregator(def(name), 0, 0);
      agg.process([ev(T0 + MIN, 'LIKE', 'p1', 'gone'), ev(T0 + 2 * MIN, 'VIEW', 'p1', 'kept')]);
      expect(agg.forget((group) => group === 'gone')).toBeGreaterThan(0);
      expect(JSON.stringify(agg.snapshot())).not.toContain('gone');
      const later = agg.process([ev(T0 + 5 * HOUR, 'VIEW', 'p1', 'kept')]);
      expect(later.finals.map((f) => f.group)).not.toContain('gone');
      expect(later.finals.map((f) => f.group)).toContain('kept');
    }
  });
});
