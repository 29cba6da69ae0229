/** What a promise rejects with; throws when it resolves instead. For asserting on refusals (`.code`, `.message`). */
export async function rejectionOf<E = Error>(promise: Promise<unknown>): Promise<E> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    return error as E;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
}

/** The messages of an error and of every error under it (AggregateError's errors, causes, a driver's innerErrors). */
export function errorMessages(error: unknown): string[] {
  // Not `instanceof Error`: errors of Node's own modules come from another realm under Jest.
  if (typeof error !== 'object' || error === null || typeof (error as Error).message !== 'string') return [];
  const { errors, cause, innerErrors } = error as { errors?: unknown[]; cause?: unknown; innerErrors?: Record<string, unknown> };
  const nested = [
    ...(Array.isArray(errors) ? errors : []),
    ...(cause ? [cause] : []),
    ...(innerErrors && typeof innerErrors === 'object' ? Object.values(innerErrors) : []),
  ];
  return [(error as Error).message, ...nested.flatMap(errorMessages)];
}
