import type { RecordPosition } from './kafka.types';

/**
 * A failure that no retry can fix (a record the handler cannot accept: a missing field, a value out of
 * range). Thrown by a consumer's handler, it sends the record to the group's dead-letter topic and the
 * consumer goes on; name the record when the handler knows it, else the batch is re-handled record by
 * record to find it. Like Spring Kafka's non-retryable exceptions or Kafka Connect's tolerated errors.
 */
export class PermanentError extends Error {
  override readonly name: string = 'PermanentError';
  /** The record that failed, when the handler knows which. */
  readonly record?: RecordPosition;

  constructor(message: string, options: { cause?: unknown; record?: RecordPosition } = {}) {
    super(message, { cause: options.cause });
    // The position only: the record's bytes stay out of logs.
    const r = options.record;
    this.record = r && { topic: r.topic, partition: r.partition, offset: r.offset };
  }
}

/** A record's bytes do not fit its topic's codec: always permanent. */
export class DecodeError extends PermanentError {
  override readonly name = 'DecodeError';
}

/**
 * Whether a handler's error is permanent: a `PermanentError` (also as the `cause` of another error), or
 * whatever the service's own hook says (e.g. a driver's syntax or validation error). Everything else is
 * taken as transient and retried: a store that is down must never send records to the dead-letter topic.
 */
export function isPermanentFailure(error: unknown, hook?: (error: unknown) => boolean): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as Error).cause, depth++) {
    if (e instanceof PermanentError) return true;
  }
  return hook?.(error) ?? false;
}

/** The record a permanent error names, if any (its own or its cause's). */
export function failedRecord(error: unknown): RecordPosition | undefined {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as Error).cause, depth++) {
    if (e instanceof PermanentError && e.record) return e.record;
  }
  return undefined;
}
