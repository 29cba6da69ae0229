/**
 * Where the platform's data names a user, for the erasure of users (docs/privacy.md): the columns of the app
 * database's tables that hold a user id (users.id), as the CDC topics carry them, and the columns of lake tables
 * that do. Consumers skip records naming an erased user by these; the privacy service deletes rows by them.
 */

/** Columns holding a user id, by app-database table (`pulse.cdc.<table>.v1` keys, before and after). */
export const APP_DB_USER_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  users: ['id'],
  follows: ['follower_id', 'followee_id'],
  posts: ['author_id'],
  comments: ['author_id'],
  blocks: ['blocker_id', 'blocked_id'],
};

/** Lake table columns that hold a user id wherever they appear (bronze, aggregates, feature tables, gold). */
export const LAKE_USER_COLUMNS: readonly string[] = [
  'user_id',
  'follower_id',
  'followee_id',
  'author_id',
  'owner_id',
  'blocker_id',
  'blocked_id',
];
