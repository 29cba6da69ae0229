import { Slots } from './concurrency';

describe('Slots', () => {
  it('runs at most its size at once across callers, in the order they came, and frees a slot on failure', async () => {
    const slots = new Slots(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const task = (i: number, fail = false) =>
      slots.run(async () => {
        started.push(i);
        most = Math.max(most, ++running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        if (fail) throw new Error(`task ${i} failed`);
        return i;
      });
    const results = await Promise.allSettled([task(0), task(1, true), task(2), task(3), task(4)]);
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(await task(5)).toBe(5);
  });
});
