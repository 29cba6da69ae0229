import type { Logger } from '@pulse/platform';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { TrainLock } from './train-lock';
import { TrainScheduler, type TrainSchedulerOptions } from './train-scheduler';

/**
 * A stand-in for `recs train`: appends "start"/"end" lines with the time to a journal, sleeps, then ends the
 * way it is told (`promoted`, `refused`, `nodata`, `fail`).
 */
const STUB = `
const [journal, who, ms, how] = process.argv.slice(2);
const fs = require('node:fs');
fs.appendFileSync(journal, 'start ' + who + ' ' + Date.now() + '\\n');
setTimeout(() => {
  fs.appendFileSync(journal, 'end ' + who + ' ' + Date.now() + '\\n');
  if (how === 'nodata') { process.stderr.write('recs train: too little data to train on\\n'); process.exit(3); }
  if (how === 'fail') { process.stderr.write('recs: something broke\\n'); process.exit(1); }
  const gate = { outcome: how, reason: how === 'promoted' ? 'beats ItemPop' : 'does not beat ItemPop' };
  process.stdout.write('progress\\n' + JSON.stringify({ version: 'v-' + who, promoted: how === 'promoted', gate }) + '\\n');
}, Number(ms));
`;

const quiet = () => undefined;
const logger = { info: quiet, warn: quiet, error: quiet, debug: quiet } as unknown as Logger;

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'recs-schedule-'));
  const file = join(dir, 'stub.js');
  writeFileSync(file, STUB);
  const journal = join(dir, 'journal.log');
  writeFileSync(journal, '');
  const scheduler = (who: string, ms: number, how: string, options: Partial<TrainSchedulerOptions> = {}) => {
    const metrics = new Registry();
    const s = new TrainScheduler({
      intervalMs: 60_000,
      delayMs: 0,
      timeoutMs: 30_000,
      lock: new TrainLock(join(dir, 'train.lock'), 60_000, who),
      statePath: join(dir, 'train-schedule.json'),
      command: { file, args: [journal, who, String(ms), how] },
      noDataExitCode: 3,
      logger,
      metrics,
      ...options,
    });
    return { s, metrics };
  };
  /** The runs in the journal as [who, start, end]. */
  const runs = () => {
    const lines = readFileSync(journal, 'utf8').trim().split('\n').filter(Boolean);
    const out: [string, number, number][] = [];
    for (const line of lines) {
      const [what, who, at] = line.split(' ');
      if (what === 'start') out.push([who, Number(at), NaN]);
      else out.filter((r) => r[0] === who && Number.isNaN(r[2])).forEach((r) => (r[2] = Number(at)));
    }
    return out;
  };
  return { dir, scheduler, runs };
}

describe('scheduled training', () => {
  it('runs on one replica at a time: another replica finds the lock taken, then the run recent', async () => {
    const { scheduler, runs } = setup();
    const a = scheduler('a', 800, 'promoted');
    const b = scheduler('b', 800, 'promoted');
    const first = a.s.tick();
    await new Promise((r) => setTimeout(r, 200));
    expect(await b.s.tick()).toEqual({ ran: false, skipped: 'locked', holder: 'a' });
    expect(await a.s.tick()).toMatchObject({ ran: false, skipped: 'running' });
    expect(await first).toMatchObject({ ran: true, outcome: 'promoted', version: 'v-a', reason: 'beats ItemPop' });
    // Done, but within the interval: b does not train again on the same data.
    expect(await b.s.tick()).toEqual({ ran: false, skipped: 'not_due' });
    expect(runs().map((r) => r[0])).toEqual(['a']);
    expect(await b.metrics.getSingleMetricAsString('recs_train_skipped_total')).toMatch(/reason="locked"} 1/);
  });

  it('follows its interval, never overlapping runs of two replicas, and reloads after a promotion', async () => {
    const { scheduler, runs } = setup();
    const reloaded: string[] = [];
    const onPromoted = async (v: string) => void reloaded.push(v);
    const a = scheduler('a', 250, 'promoted', { intervalMs: 300, delayMs: 10, onPromoted });
    const b = scheduler('b', 250, 'refused', { intervalMs: 300, delayMs: 150, onPromoted });
    a.s.start();
    b.s.start();
    await new Promise((r) => setTimeout(r, 3000));
    const stopAt = Date.now();
    await Promise.all([a.s.stop(), b.s.stop()]);
    // The last run may have been stopped by stop(): count the ones that finished.
    const all = runs()
      .filter((r) => !Number.isNaN(r[2]))
      .sort((x, y) => x[1] - y[1]);
    expect(all.length).toBeGreaterThanOrEqual(3);
    for (let k = 1; k < all.length; k++) expect(all[k][1]).toBeGreaterThanOrEqual(all[k - 1][2]);
    // Every promoted run reloads once it is over; a run that wrote its end as stop() came may be cut short before
    // its summary, and then neither promotes nor reloads.
    const promoted = all.filter((r) => r[0] === 'a');
    expect(reloaded.length).toBeLessThanOrEqual(promoted.length);
    expect(reloaded.length).toBeGreaterThanOrEqual(promoted.filter((r) => r[2] < stopAt - 500).length);
    expect(reloaded.every((v) => v === 'v-a')).toBe(true);
  });

  it('counts a run without data, a failed run and a run past its timeout, and keeps going', async () => {
    const { scheduler } = setup();
    const noData = scheduler('a', 10, 'nodata');
    expect(await noData.s.tick()).toMatchObject({ ran: true, outcome: 'no_data', reason: 'recs train: too little data to train on' });
    const failed = scheduler('b', 10, 'fail', { intervalMs: 0 });
    expect(await failed.s.tick()).toMatchObject({
      ran: true,
      outcome: 'failed',
      reason: expect.stringMatching(/exit 1: recs: something broke/),
    });
    const slow = scheduler('c', 5000, 'promoted', { intervalMs: 0, timeoutMs: 200 });
    expect(await slow.s.tick()).toMatchObject({ ran: true, outcome: 'failed', reason: expect.stringMatching(/stopped after 200 ms/) });
    const text = await slow.metrics.metrics();
    expect(text).toMatch(/recs_train_runs_total{outcome="failed"} 1/);
    expect(text).toMatch(/recs_train_last_run_duration_seconds \d/);
    expect(text).toMatch(/recs_train_running 0/);
    const missing = scheduler('d', 10, 'promoted', { intervalMs: 0, command: { file: '/nonexistent/recs.js', args: [] } });
    expect(await missing.s.tick()).toMatchObject({ ran: true, outcome: 'failed', reason: expect.stringMatching(/does not exist/) });
  });
});
