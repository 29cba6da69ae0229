/** A user id as ingest and storage take it: 1..128 printable ASCII characters. Returns why not, or null when valid. */
export function userIdProblem(id: string): string | null {
  if (id.length === 0) return 'a user id is required';
  if (id.length > 128) return 'a user id has at most 128 characters';
  if (!/^[\x21-\x7e]+$/.test(id)) return 'a user id is printable ASCII without spaces';
  return null;
}
