import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

/** What the lock file says about its holder. */
export interface LockHolder {
  owner: string;
  token: string;
  since: string;
}

/**
 * A lock file shared by the replicas of one registry, so one at a time trains: taken by creating the file
 * exclusively (O_CREAT | O_EXCL, which local file systems and NFS v3+ make atomic), released by deleting it.
 * The holder touches it (its modification time) every quarter of `staleMs` while it works; a lock whose file
 * was not touched for `staleMs` belongs to a holder that died, and is taken over: moved aside by a rename (only
 * one taker can move it), then created anew.
 */
export class TrainLock {
  constructor(
    readonly path: string,
    readonly staleMs: number,
    readonly owner = `${hostname()}-${process.pid}`,
  ) {}

  /** Takes the lock; undefined when a live holder has it. */
  acquire(): TrainLockHandle | undefined {
    for (let attempt = 0; attempt < 2; attempt++) {
      const holder: LockHolder = { owner: this.owner, token: randomBytes(8).toString('hex'), since: new Date().toISOString() };
      try {
        const fd = openSync(this.path, 'wx');
        try {
          writeSync(fd, JSON.stringify(holder));
        } finally {
          closeSync(fd);
        }
        return new TrainLockHandle(this.path, holder, this.staleMs);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      if (!this.breakIfStale()) return undefined;
    }
    return undefined;
  }

  /** The current holder, if any. */
  holder(): LockHolder | undefined {
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as LockHolder;
    } catch {
      return undefined;
    }
  }

  /** Moves a stale lock out of the way; true when the lock is free to take now. */
  private breakIfStale(): boolean {
    let touched: number;
    try {
      touched = statSync(this.path).mtimeMs;
    } catch {
      return true; // released meanwhile
    }
    if (Date.now() - touched < this.staleMs) return false;
    const aside = `${this.path}.${randomBytes(4).toString('hex')}.stale`;
    try {
      renameSync(this.path, aside);
    } catch {
      return true; // another replica moved it first
    }
    // Between the look and the rename another replica may have broken it and taken a fresh one: put that back.
    if (Date.now() - statSync(aside).mtimeMs < this.staleMs) {
      try {
        linkSync(aside, this.path);
      } catch {
        // a third replica took the lock meanwhile: it holds it
      }
      unlinkSync(aside);
      return false;
    }
    unlinkSync(aside);
    return true;
  }
}

/** A lock held: keep it fresh while working, release it when done. */
export class TrainLockHandle {
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly path: string,
    readonly holder: LockHolder,
    staleMs: number,
  ) {
    this.timer = setInterval(() => this.touch(), Math.max(100, Math.floor(staleMs / 4)));
    this.timer.unref();
  }

  /** Whether the lock file is still ours (it was not taken over as stale). */
  held(): boolean {
    try {
      return (JSON.parse(readFileSync(this.path, 'utf8')) as LockHolder).token === this.holder.token;
    } catch {
      return false;
    }
  }

  private touch(): void {
    if (!this.held()) return;
    const now = new Date();
    try {
      utimesSync(this.path, now, now);
    } catch {
      // gone: release finds out
    }
  }

  /** Stops touching the lock and deletes it, unless another holder has it now. */
  release(): void {
    clearInterval(this.timer);
    if (this.held()) unlinkSync(this.path);
  }
}
