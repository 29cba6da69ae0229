import { existsSync, mkdtempSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainLock } from './train-lock';

const lockPath = () => join(mkdtempSync(join(tmpdir(), 'recs-lock-')), 'train.lock');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('training lock', () => {
  it('has one holder at a time and is free again once released', () => {
    const path = lockPath();
    const a = new TrainLock(path, 60_000, 'replica-a');
    const b = new TrainLock(path, 60_000, 'replica-b');
    const held = a.acquire();
    expect(held).toBeDefined();
    expect(b.acquire()).toBeUndefined();
    expect(b.holder()).toMatchObject({ owner: 'replica-a' });
    held?.release();
    expect(existsSync(path)).toBe(false);
    const next = b.acquire();
    expect(next?.holder.owner).toBe('replica-b');
    next?.release();
  });

  it('takes over a lock its holder stopped touching, and the old holder then leaves it alone', () => {
    const path = lockPath();
    const dead = new TrainLock(path, 1000, 'replica-a').acquire();
    const old = new Date(Date.now() - 5000);
    utimesSync(path, old, old);
    const taken = new TrainLock(path, 1000, 'replica-b').acquire();
    expect(taken?.holder.owner).toBe('replica-b');
    expect(dead?.held()).toBe(false);
    dead?.release(); // must not delete replica-b's lock
    expect(new TrainLock(path, 1000, 'replica-c').holder()).toMatchObject({ owner: 'replica-b' });
    taken?.release();
  });

  it('stays fresh while its holder works, however long that takes', async () => {
    const path = lockPath();
    const held = new TrainLock(path, 200, 'replica-a').acquire();
    await sleep(500);
    expect(new TrainLock(path, 200, 'replica-b').acquire()).toBeUndefined();
    held?.release();
  });
});
