/**
 * Work run every `intervalMs` on an unref'd timer, never twice at once in this process (a tick while a run is in
 * progress is skipped). `stop` aborts the signal the run was given and waits for it to end. `work` handles its own
 * errors: a rejection is swallowed here so that the timer goes on.
 */
export class PeriodicTask {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly stopping = new AbortController();

  constructor(private readonly work: (signal: AbortSignal) => Promise<void>) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.work(this.stopping.signal)
      .catch(() => undefined)
      .finally(() => (this.running = undefined));
  }
}
