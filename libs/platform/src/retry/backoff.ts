/** Exponential backoff between attempts of an operation that failed for a reason a retry can fix. */
export interface BackoffPolicy {
  /** Delay before the first retry, ms. */
  initialDelayMs: number;
  /** Ceiling of the delay, ms. */
  maxDelayMs: number;
  /** Factor from one delay to the next. */
  multiplier: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialDelayMs: 200, maxDelayMs: 30_000, multiplier: 2 };

/**
 * The delay before retry number `attempt` (1 for the first): `initial × multiplier^(attempt−1)`, capped at the
 * maximum, with "equal jitter" — half of it fixed, half random — so replicas that failed together do not
 * retry together, yet no retry comes at once.
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxDelayMs, exponential);
  return Math.round(capped / 2 + random() * (capped / 2));
}

/** Resolves after `ms`, or at once when `signal` aborts (the caller checks `signal.aborted`). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
