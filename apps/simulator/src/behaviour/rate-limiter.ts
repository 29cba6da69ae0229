/**
 * The rate's daily rhythm: a factor averaging 1 over a simulated day of `periodMs`, lowest at 06:00 (1 − amplitude)
 * and highest at 18:00 (1 + amplitude). Simulated midnight falls on wall-clock multiples of the period.
 */
export function dailyRhythm(nowMs: number, periodMs: number, amplitude = 0.6): number {
  const phase = (((nowMs % periodMs) + periodMs) % periodMs) / periodMs;
  return 1 + amplitude * Math.cos(2 * Math.PI * (phase - PEAK_PHASE));
}

/** 18:00. */
const PEAK_PHASE = 18 / 24;

export interface RateLimiterOptions {
  /** Target events per second at the daily average; 0 pauses. */
  rate: number;
  /** Length of a simulated day; 0 turns the rhythm off. */
  dayPeriodMs: number;
  now?: () => number;
  /** Events that may be taken at once after a quiet spell, in seconds of the current rate. */
  burstSeconds?: number;
}

/**
 * A token bucket over events. A session reserves what it expects to produce before it starts and settles the
 * difference when it ends; sessions start only while the bucket is not in debt, so the long-run rate is the
 * target whatever the size of each session. Backpressure from ingest (RESOURCE_EXHAUSTED) halves a throttle
 * factor (down to 2 %); every accepted batch wins back 10 % of it.
 */
export class EventRateLimiter {
  private readonly now: () => number;
  private readonly burstSeconds: number;
  private tokens = 0;
  private last: number;
  private target: number;
  private throttleFactor = 1;

  constructor(private readonly options: RateLimiterOptions) {
    this.now = options.now ?? Date.now;
    this.burstSeconds = options.burstSeconds ?? 1;
    this.target = options.rate;
    this.last = this.now();
  }

  /** The target rate as set. */
  get rate(): number {
    return this.target;
  }

  /** The backpressure factor, 0.02..1. */
  get throttle(): number {
    return this.throttleFactor;
  }

  /** Events per second allowed right now: rate × daily rhythm × throttle. */
  get currentRate(): number {
    const rhythm = this.options.dayPeriodMs > 0 ? dailyRhythm(this.now(), this.options.dayPeriodMs) : 1;
    return this.target * rhythm * this.throttleFactor;
  }

  setRate(rate: number): void {
    this.refill();
    this.target = rate;
    if (rate === 0) this.tokens = Math.min(this.tokens, 0);
  }

  /** Milliseconds until a session may start: 0 now, Infinity while paused. */
  waitMs(): number {
    if (this.target === 0) return Infinity;
    this.refill();
    if (this.tokens >= 0) return 0;
    return Math.ceil((-this.tokens / this.currentRate) * 1000);
  }

  /** Takes `events` from the bucket (it may go into debt). */
  take(events: number): void {
    this.refill();
    this.tokens -= events;
  }

  /** Returns what a session reserved but did not use (negative: takes what it used beyond). */
  giveBack(events: number): void {
    this.tokens += events;
  }

  /** Ingest said RESOURCE_EXHAUSTED: halve the throttle. */
  backOff(): void {
    this.refill();
    this.throttleFactor = Math.max(0.02, this.throttleFactor / 2);
    this.tokens = Math.min(this.tokens, 0);
  }

  /** Ingest accepted a batch: win back some of the throttle. */
  recover(): void {
    this.refill();
    this.throttleFactor = Math.min(1, this.throttleFactor * 1.1);
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    const rate = this.currentRate;
    this.tokens = Math.min(this.tokens + elapsed * rate, Math.max(1, rate * this.burstSeconds));
  }
}
