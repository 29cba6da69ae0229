import type { DeltaTable } from '@pulse/lake';
import type { Logger } from '@pulse/platform';
import { randomUUID } from 'node:crypto';

const STATE_DIR = '_pulse_state';

/** Commit-info field (`pulseStreamState`) of a stateful stream's commits: where its state as of that version is. */
export interface StreamStateRef {
  stream: string;
  key: string;
  watermark: number | null;
}

/**
 * The state files of a stateful stream (window or join state), one per commit under
 * `<table>/_pulse_state/<stream>/`, each named by the commit that references it. Kept: the latest commit's and
 * the one before (a reader may still hold it); every other goes. They hold personal data (open windows keyed by
 * user): once users are erased, only the latest stays, rewritten without them.
 */
export class StreamStateFiles {
  /** Files of the latest commits, oldest first. */
  private keys: string[] = [];

  constructor(
    private readonly table: DeltaTable,
    private readonly stream: string,
    private readonly logger: Logger,
  ) {}

  private get dir(): string {
    return `${this.table.path}/${STATE_DIR}/${this.stream}/`;
  }

  /** Writes the state for the commit of `version` (before the commit, which names the file); returns its key. */
  async write(version: number, state: unknown): Promise<string> {
    const key = `${this.dir}${String(version).padStart(20, '0')}-${randomUUID()}.json`;
    await this.table.storage.write(key, JSON.stringify(state));
    return key;
  }

  /** The state a commit named, parsed; throws when the file is missing. */
  async read<T>(ref: StreamStateRef, version: number): Promise<T> {
    const data = await this.table.storage.read(ref.key);
    if (!data) throw new Error(`state ${ref.key} of ${this.stream} (version ${version}) is missing`);
    return JSON.parse(data.toString('utf8')) as T;
  }

  /**
   * After a commit: its file and the one before stay, older ones go (a failed delete is retried next time). With
   * `forgot` (the batch dropped the state of erased users) only its file stays: the older ones still hold that state.
   */
  async committed(key: string, forgot = false): Promise<void> {
    if (forgot) return this.onlyKeep(key);
    this.keys.push(key);
    const old = this.keys.splice(0, Math.max(0, this.keys.length - 2));
    if (old.length > 0)
      await this.table.storage.delete(old).catch((error: unknown) => {
        this.keys.unshift(...old);
        this.logger.warn({ err: error, stream: this.stream }, 'could not delete old stream states');
      });
  }

  /**
   * After the stream dropped the state of erased users outside a batch: the latest commit's file, rewritten with
   * `state` when something was dropped (undefined: nothing was), is the only one left — the older ones may hold the
   * state of theirs that closed since.
   */
  async keepOnlyLatest(state: unknown): Promise<void> {
    const current = this.keys[this.keys.length - 1];
    if (current === undefined) return;
    if (state !== undefined) await this.table.storage.write(current, JSON.stringify(state));
    await this.onlyKeep(current);
  }

  /** Every file but `key` goes (at start: older ones and those of batches that never committed; after an erasure). */
  async onlyKeep(key: string): Promise<void> {
    const stale = (await this.table.storage.list(this.dir)).map((o) => o.key).filter((k) => k !== key);
    if (stale.length > 0) await this.table.storage.delete(stale);
    this.keys = [key];
  }
}

/** Runs its calls one at a time, in order (a stream's batches and its erasure passes both change its state). */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
