import { grpcErrors } from '@pulse/platform';

const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const HANDLE = /^[a-z0-9_]{3,30}$/;

/** Whether `userId` is one a user can have (what checkUserId accepts). */
export function isUserId(userId: string): boolean {
  return USER_ID.test(userId);
}

export function checkUserId(userId: string, field = 'user_id'): string {
  if (!userId) throw grpcErrors.invalidArgument(field, 'is required');
  if (!USER_ID.test(userId)) throw grpcErrors.invalidArgument(field, 'must be 1..64 characters of [A-Za-z0-9_-]');
  return userId;
}

/** Handles compare case-insensitively and are stored lowercase. */
export function normalizeHandle(handle: string, field = 'handle'): string {
  const lower = (handle ?? '').trim().toLowerCase();
  if (!lower) throw grpcErrors.invalidArgument(field, 'is required');
  if (!HANDLE.test(lower)) throw grpcErrors.invalidArgument(field, 'must be 3..30 characters of [a-z0-9_]');
  return lower;
}

export function checkText(value: string, max: number, field: string): string {
  if ([...value].length > max) throw grpcErrors.invalidArgument(field, `exceeds ${max} characters`);
  return value;
}
