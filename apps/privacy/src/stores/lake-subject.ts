import { APP_DB_USER_COLUMNS, LAKE_USER_COLUMNS } from '@pulse/contracts';
import { type DeltaColumn, sqlIdent, sqlString } from '@pulse/lake';

const ID_TYPES = new Set(['string', 'long', 'integer']);

/**
 * The rows of a lake table that belong to a user, as a DuckDB predicate over its columns, from the table's schema
 * (and, for a CDC bronze table `bronze/cdc/<schema>.<table>`, the app table it mirrors); undefined when the table
 * holds no user column. A row belongs to the user when:
 * - a user column (LAKE_USER_COLUMNS: user_id, follower_id, followee_id, author_id, owner_id, blocker_id, blocked_id) holds the id;
 * - it is an action on the user (`target_type = 'USER'` and `target_id` the id);
 * - for a CDC bronze table, a user column of the app table (APP_DB_USER_COLUMNS) holds the id in the record's key,
 *   `before` or `after` (JSON text).
 */
export function subjectPredicate(tablePath: string, schema: readonly DeltaColumn[], userId: string): string | undefined {
  const id = sqlString(userId);
  const has = (name: string, types = ID_TYPES) => schema.some((c) => c.name === name && types.has(c.type));
  const terms: string[] = [];
  for (const column of LAKE_USER_COLUMNS) if (has(column)) terms.push(`CAST(${sqlIdent(column)} AS VARCHAR) = ${id}`);
  if (has('target_id') && has('target_type', new Set(['string'])))
    terms.push(`(target_type = 'USER' AND CAST(target_id AS VARCHAR) = ${id})`);
  const cdc = tablePath.match(/(?:^|\/)bronze\/cdc\/[^/]+\.([^/.]+)$/);
  const appColumns = cdc ? (APP_DB_USER_COLUMNS[cdc[1]] ?? []) : [];
  for (const json of ['key', 'before', 'after']) {
    if (!has(json, new Set(['string']))) continue;
    for (const field of appColumns) terms.push(`json_extract_string(${sqlIdent(json)}, ${sqlString(`$.${field}`)}) = ${id}`);
  }
  return terms.length > 0 ? terms.join(' OR ') : undefined;
}

/**
 * Whether the state file of one of etl's stateful streams (`<table>/_pulse_state/<stream>/*.json`) holds something of
 * the user: an open window grouped by the user (the aggregates: `windows`, each `[start, end, group, ...]`) or an
 * open exposure of a list served to the user (the exposures join: `open`, each with its `userId`).
 */
export function streamStateNames(stateJson: string, userId: string): boolean {
  if (!stateJson.includes(userId)) return false;
  const state = JSON.parse(stateJson) as { windows?: unknown[][]; open?: { userId?: unknown }[] };
  return (state.windows ?? []).some((w) => w[2] === userId) || (state.open ?? []).some((e) => e.userId === userId);
}
