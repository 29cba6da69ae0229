import type { Logger } from '@pulse/platform';

/** Whether a user is on the erasure list (ErasureList of @pulse/platform). */
export interface ErasedUsers {
  has(userId: string | null | undefined): boolean;
}

/** A stream holding state keyed by user (open windows, open exposures) that it can drop for erased users. */
export interface ForgetsErased {
  /** Drops the state of the users erased since; returns how many entries went. */
  forgetErased(): Promise<number>;
}

/** How often the list is looked at (the streams' state is dropped even when no batch comes). */
const ERASURE_CHECK_MS = 5_000;

/**
 * Follows the erasure list for some streams: when it grows, each stream drops what it holds of the users erased
 * since, without waiting for its next batch (a stream may stay idle for hours). A failed pass is retried at the
 * next check. Returns the function that stops it.
 */
export function followErasures(
  erased: ErasedUsers & { readonly size: number },
  streams: () => Iterable<ForgetsErased>,
  logger: Logger,
  everyMs = ERASURE_CHECK_MS,
): () => void {
  let seen = 0;
  let running: Promise<void> | undefined;
  const check = async () => {
    const listed = erased.size;
    if (listed === seen) return;
    try {
      for (const stream of streams()) await stream.forgetErased();
      seen = listed;
    } catch (error) {
      logger.warn({ err: error }, 'could not drop the state of erased users; retried');
    }
  };
  const timer = setInterval(() => {
    running ??= check().finally(() => (running = undefined));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
