import { GrpcStatus } from '@pulse/platform';

/** Where failures are counted: by peer and status code name. */
export interface PeerErrorSink {
  peerError(peer: string, code: string): void;
}

export interface RetryPolicy {
  /** Calls at most (1: no retry). */
  attempts: number;
  /** Wait before the first retry; doubles on each further one, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Stops retrying (the last error is thrown) once this says so, e.g. on shutdown. */
  stopped?: () => boolean;
  /** Which errors are worth another try; default: the transient ones (UNAVAILABLE, DEADLINE_EXCEEDED). */
  retryable?: (error: unknown) => boolean;
  /** Sees every failure before the wait (e.g. to slow down on RESOURCE_EXHAUSTED). */
  onFailure?: (error: unknown) => void;
}

/** Status codes worth another try with the same request: the peer is restarting or slow. */
const TRANSIENT = new Set<number>([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED]);

/** The gRPC status code name of an error (`UNAVAILABLE`), or `UNKNOWN` for an error without one. */
export function statusName(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' && GrpcStatus[code] !== undefined ? GrpcStatus[code] : 'UNKNOWN';
}

export function isTransient(error: unknown): boolean {
  return TRANSIENT.has((error as { code?: number })?.code ?? -1);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `call` until it succeeds, fails with a status not worth another try (by default anything but UNAVAILABLE and
 * DEADLINE_EXCEEDED), or the attempts run out, waiting with exponential backoff in between; every failure is counted against the peer.
 */
export async function callWithRetry<T>(peer: string, call: () => Promise<T>, policy: RetryPolicy, errors: PeerErrorSink): Promise<T> {
  let delay = policy.baseDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      errors.peerError(peer, statusName(error));
      policy.onFailure?.(error);
      if (!(policy.retryable ?? isTransient)(error) || attempt >= policy.attempts || policy.stopped?.()) throw error;
      await sleep(delay);
      delay = Math.min(policy.maxDelayMs, delay * 2);
    }
  }
}
