import { PeriodicTask } from './periodic-task';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PeriodicTask', () => {
  it('runs every interval, skips ticks while a run is in progress, and goes on after a failed run', async () => {
    let runs = 0;
    let inFlight = 0;
    let most = 0;
    const task = new PeriodicTask(async () => {
      runs++;
      inFlight++;
      most = Math.max(most, inFlight);
      await sleep(35);
      inFlight--;
      if (runs === 1) throw new Error('the store was down');
    });
    task.start(10);
    await sleep(200);
    await task.stop();
    expect(most).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runs).toBeLessThanOrEqual(6);
  });

  it('stop aborts the running work and waits for it', async () => {
    let ended = false;
    let aborted = false;
    const task = new PeriodicTask(async (signal) => {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      aborted = signal.aborted;
      await sleep(20);
      ended = true;
    });
    task.start(5);
    await sleep(30);
    await task.stop();
    expect(aborted).toBe(true);
    expect(ended).toBe(true);
  });
});
