import type { Logger } from '@pulse/platform';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TrainLock } from './train-lock';

/** How a scheduled run ended. */
export type TrainOutcome = 'promoted' | 'refused' | 'registered' | 'no_data' | 'failed';
/** Why a tick did not run. */
export type SkipReason = 'running' | 'locked' | 'not_due';

export type TickResult =
  { ran: true; outcome: TrainOutcome; version?: string; reason: string; ms: number } | { ran: false; skipped: SkipReason; holder?: string };

export interface TrainSchedulerOptions {
  /** Time between ticks; a tick that finds a run started less than 90 % of it ago (by any replica) does nothing. */
  intervalMs: number;
  /** Time from `start` to the first tick. */
  delayMs: number;
  /** A run still going after this long is stopped and counted as failed. */
  timeoutMs: number;
  lock: TrainLock;
  /** The last run's record, shared by the replicas (beside the lock). */
  statePath: string;
  /** The run: `node <file> <args>`, printing its `--json` summary on stdout; exit code 3 means no data. */
  command: { file: string; args: readonly string[] };
  /** Exit code of a run that found nothing to train on. */
  noDataExitCode: number;
  logger: Logger;
  metrics: Registry;
  /** Called after a run promoted a version (the replica reloads without waiting for the event). */
  onPromoted?: (version: string) => Promise<void>;
}

/** The last run by any replica, as the state file keeps it. */
interface ScheduleState {
  startedAt: string;
  finishedAt?: string;
  outcome?: TrainOutcome;
  version?: string;
  by: string;
}

/** Most of a run's stderr kept for the log of a failed run. */
const STDERR_TAIL = 4000;

/**
 * Runs training on a schedule inside the service: every interval, `recs train --source lake --gate` as a
 * child process at low CPU priority (serving is never blocked: the model trains in another process, and a
 * run that fails or hangs is only logged, counted and stopped), one replica at a time by the lock file in the
 * registry directory, and only when no replica ran it within the interval. Exports the last run's time,
 * duration and outcome.
 */
export class TrainScheduler {
  private timer?: NodeJS.Timeout;
  private child?: ChildProcess;
  private running?: Promise<TickResult>;
  private stopped = false;
  private readonly runs: Counter<'outcome'>;
  private readonly skips: Counter<'reason'>;
  private readonly lastRun: Gauge;
  private readonly lastDuration: Gauge;
  private readonly lastOutcome: Gauge<'outcome'>;
  private readonly active: Gauge;

  constructor(private readonly options: TrainSchedulerOptions) {
    const registers = [options.metrics];
    this.runs = new Counter({
      name: 'recs_train_runs_total',
      help: 'Scheduled training runs of this replica, by outcome (promoted, refused, registered, no_data, failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.skips = new Counter({
      name: 'recs_train_skipped_total',
      help: 'Scheduled training ticks that did not run, by reason (running, locked by another replica, not_due)',
      labelNames: ['reason'],
      registers,
    });
    this.lastRun = new Gauge({ name: 'recs_train_last_run_timestamp_seconds', help: 'When the last run of this replica ended', registers });
    this.lastDuration = new Gauge({
      name: 'recs_train_last_run_duration_seconds',
      help: 'How long the last run of this replica took',
      registers,
    });
    this.lastOutcome = new Gauge({
      name: 'recs_train_last_run_outcome',
      help: 'The outcome of the last run of this replica (value 1)',
      labelNames: ['outcome'],
      registers,
    });
    this.active = new Gauge({ name: 'recs_train_running', help: 'Whether this replica runs a training now (1) or not (0)', registers });
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      void this.tick();
      this.timer = setTimeout(loop, this.options.intervalMs);
    };
    this.timer = setTimeout(loop, this.options.delayMs);
  }

  /** Stops the schedule; a run in progress is stopped (SIGTERM) and its lock released. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.child?.kill('SIGTERM');
    await this.running;
  }

  /** One tick: runs the training unless one is running here, another replica holds the lock, or a run is recent. */
  tick(): Promise<TickResult> {
    if (this.running) return Promise.resolve(this.skip('running'));
    const lock = this.options.lock.acquire();
    if (!lock) return Promise.resolve(this.skip('locked', this.options.lock.holder()?.owner));
    const last = this.state();
    if (last && Date.now() - Date.parse(last.startedAt) < this.options.intervalMs * 0.9) {
      lock.release();
      return Promise.resolve(this.skip('not_due'));
    }
    this.running = this.run().finally(() => {
      lock.release();
      this.running = undefined;
    });
    return this.running;
  }

  private skip(reason: SkipReason, holder?: string): TickResult {
    this.skips.inc({ reason });
    if (reason !== 'not_due') this.options.logger.info({ reason, holder }, 'scheduled training skipped');
    return { ran: false, skipped: reason, holder };
  }

  private state(): ScheduleState | undefined {
    try {
      return JSON.parse(readFileSync(this.options.statePath, 'utf8')) as ScheduleState;
    } catch {
      return undefined;
    }
  }

  private writeState(state: ScheduleState): void {
    const tmp = `${this.options.statePath}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state, null, 2));
    renameSync(tmp, this.options.statePath);
  }

  private async run(): Promise<TickResult> {
    const started = Date.now();
    const by = this.options.lock.owner;
    this.writeState({ startedAt: new Date(started).toISOString(), by });
    this.active.set(1);
    this.options.logger.info({ args: this.options.command.args.join(' ') }, 'scheduled training started');
    let result: { outcome: TrainOutcome; version?: string; reason: string };
    try {
      result = await this.runChild();
    } catch (error) {
      result = { outcome: 'failed', reason: error instanceof Error ? error.message : String(error) };
    }
    const ms = Date.now() - started;
    this.active.set(0);
    this.runs.inc({ outcome: result.outcome });
    this.lastRun.set(Date.now() / 1000);
    this.lastDuration.set(ms / 1000);
    this.lastOutcome.reset();
    this.lastOutcome.set({ outcome: result.outcome }, 1);
    this.writeState({
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date().toISOString(),
      outcome: result.outcome,
      version: result.version,
      by,
    });
    const fields = { outcome: result.outcome, version: result.version, reason: result.reason, ms };
    if (result.outcome === 'failed') this.options.logger.error(fields, 'scheduled training failed');
    else this.options.logger.info(fields, 'scheduled training finished');
    if (result.outcome === 'promoted' && result.version && this.options.onPromoted) {
      await this.options
        .onPromoted(result.version)
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'reloading after training failed'));
    }
    return { ran: true, ...result, ms };
  }

  /** Runs the command; resolves with the outcome its exit code and summary line say. */
  private runChild(): Promise<{ outcome: TrainOutcome; version?: string; reason: string }> {
    const { file, args } = this.options.command;
    if (!existsSync(file)) return Promise.resolve({ outcome: 'failed', reason: `${file} does not exist (is the app built?)` });
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      try {
        if (child.pid) setPriority(child.pid, 10);
      } catch {
        // not permitted here: the run keeps the service's priority
      }
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-STDERR_TAIL)));
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }, this.options.timeoutMs);
      child.on('error', (error) => {
        clearTimeout(timer);
        resolve({ outcome: 'failed', reason: `could not start ${file}: ${error.message}` });
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.child = undefined;
        const lastLine = (text: string) => text.trim().split('\n').at(-1)?.trim() ?? '';
        if (timedOut) return resolve({ outcome: 'failed', reason: `stopped after ${this.options.timeoutMs} ms (RECS_TRAIN_TIMEOUT)` });
        if (this.stopped) return resolve({ outcome: 'failed', reason: 'stopped: the service is shutting down' });
        if (code === this.options.noDataExitCode) return resolve({ outcome: 'no_data', reason: lastLine(stderr) });
        if (code !== 0) return resolve({ outcome: 'failed', reason: `exit ${code ?? signal}: ${stderr.trim() || '(no output)'}` });
        try {
          const summary = JSON.parse(lastLine(stdout)) as {
            version: string;
            promoted: boolean;
            gate?: { outcome: string; reason: string };
          };
          resolve({
            outcome: summary.gate ? (summary.promoted ? 'promoted' : 'refused') : 'registered',
            version: summary.version,
            reason: summary.gate?.reason ?? '',
          });
        } catch {
          resolve({ outcome: 'failed', reason: `no summary line on stdout: ${lastLine(stdout) || '(empty)'}` });
        }
      });
    });
  }
}
