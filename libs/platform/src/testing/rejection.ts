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
