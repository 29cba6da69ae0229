import { createHmac } from 'node:crypto';

/**
 * The key of subject hashes when a deployment sets none: fine on a laptop, not in production, where
 * `PRIVACY_SUBJECT_KEY` is one secret shared by every service that reads the erasure list.
 */
export const LOCAL_SUBJECT_KEY = 'pulse-local-subject-key';

/**
 * How an erased user is named in the erasure list and the audit log: HMAC-SHA256 of the user id under the
 * platform's subject key, hex. The same id always gives the same hash, so a service can test an id it sees;
 * without the key a hash cannot be tested against guessed ids (ids are often small integers).
 */
export function subjectHash(key: string, userId: string): string {
  return createHmac('sha256', key).update(userId, 'utf8').digest('hex');
}
