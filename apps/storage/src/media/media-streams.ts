import type { Observable, Subscription } from 'rxjs';

/** What can be paused: a gRPC server call is a Readable whose pause() stops reading from HTTP/2. */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

/**
 * An rx stream (how Nest hands a client-streaming call to its handler) as an async iterable with
 * backpressure: when `highWater` messages wait unconsumed, the call is paused, and resumed once the
 * consumer caught up. Memory stays bounded by a few messages plus the HTTP/2 window. An aborted
 * `signal` (the client cancelled) fails the iteration with the signal's reason.
 */
export function pullMessages<T>(source: Observable<T>, flow?: FlowControl, signal?: AbortSignal, highWater = 4): AsyncIterable<T> {
  const iterator = subscribeQueue(source, flow, signal, highWater);
  return { [Symbol.asyncIterator]: () => iterator };
}

/** Subscribes at once (Nest replays early messages only to subscribers present when the handler returns). */
function subscribeQueue<T>(
  source: Observable<T>,
  flow: FlowControl | undefined,
  signal: AbortSignal | undefined,
  highWater: number,
): AsyncIterator<T> {
  const queue: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let paused = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const subscription: Subscription = source.subscribe({
    next: (value) => {
      queue.push(value);
      if (!paused && queue.length >= highWater && flow) {
        paused = true;
        flow.pause();
      }
      notify();
    },
    error: (error: unknown) => {
      failure = { error };
      notify();
    },
    complete: () => {
      done = true;
      notify();
    },
  });
  const onAbort = () => {
    failure ??= { error: signal?.reason };
    notify();
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        if (queue.length > 0 && !signal?.aborted) {
          const value = queue.shift() as T;
          if (paused && queue.length <= highWater / 2 && flow) {
            paused = false;
            flow.resume();
          }
          return { value, done: false };
        }
        if (failure) throw failure.error;
        if (done) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return(): Promise<IteratorResult<T>> {
      subscription.unsubscribe();
      signal?.removeEventListener('abort', onAbort);
      queue.length = 0;
      return { value: undefined, done: true };
    },
  };
}

/** Re-slices a byte stream into pieces of exactly `size` bytes (the last may be shorter). */
export async function* rechunk(source: AsyncIterable<Buffer>, size: number): AsyncIterable<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let rest = piece;
    while (pendingBytes + rest.length >= size) {
      const take = size - pendingBytes;
      pending.push(rest.subarray(0, take));
      yield pending.length === 1 ? pending[0] : Buffer.concat(pending, size);
      pending = [];
      pendingBytes = 0;
      rest = rest.subarray(take);
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

/** The writable side of a server-streaming call, as grpc-js gives it. */
export interface MessageSink {
  write(message: unknown): boolean;
  once(event: 'drain' | 'cancelled' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'cancelled' | 'close', listener: () => void): unknown;
  readonly cancelled?: boolean;
}

/** Writes one message and, when the call's buffer is full, waits for it to drain (or the call to end). */
export async function send(sink: MessageSink, message: unknown): Promise<void> {
  if (sink.write(message)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      sink.off('drain', done);
      sink.off('cancelled', done);
      sink.off('close', done);
      resolve();
    };
    sink.once('drain', done);
    sink.once('cancelled', done);
    sink.once('close', done);
  });
}
