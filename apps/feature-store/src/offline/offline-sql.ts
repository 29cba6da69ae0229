import type { FeatureDef } from '../registry/definitions';
import type { ServedView } from '../registry/loaded-registry';

/** A SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A SQL identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A TIMESTAMP literal (UTC) of ms since the epoch. */
export function sqlTimestamp(ms: number): string {
  return `make_timestamp(${Math.trunc(ms) * 1000})`;
}

/** A value of an entity filter row as SQL. */
export function sqlValue(value: string | number | boolean): string {
  return typeof value === 'string' ? sqlString(value) : String(value);
}

/** How a feature column is read from the source: timestamps as ms, so they survive the trip to Redis. */
function featureExpr(f: FeatureDef): string {
  return f.valueType === 'timestamp' ? `epoch_ms(CAST(${sqlIdent(f.name)} AS TIMESTAMP))` : sqlIdent(f.name);
}

/**
 * The rows of a view's offline source, one per entity and event time (ties broken by the created
 * timestamp, latest first): join keys, `__ts` (TIMESTAMP, UTC) and the features. `relation` is the
 * source's table expression; `where` filters on `__ts` and join keys.
 */
export function deduplicatedSourceSql(view: ServedView, relation: string, where = 'TRUE'): string {
  const batch = view.def.source.batch;
  if (!batch) throw new Error(`feature view ${view.def.name} has no offline source`);
  const keys = view.joinKeys.map(sqlIdent);
  const ts = `CAST(${sqlIdent(batch.timestampField)} AS TIMESTAMP)`;
  const created = batch.createdTimestampField ? `CAST(${sqlIdent(batch.createdTimestampField)} AS TIMESTAMP)` : 'NULL::TIMESTAMP';
  const features = view.def.features.map((f) => `${featureExpr(f)} AS ${sqlIdent(f.name)}`);
  return `SELECT ${[...keys, '__ts', ...view.def.features.map((f) => sqlIdent(f.name))].join(', ')} FROM (
    SELECT ${[...keys, `${ts} AS __ts`, `${created} AS __created`, ...features].join(', ')} FROM ${relation}
  ) __s WHERE ${where}
  QUALIFY row_number() OVER (PARTITION BY ${[...keys, '__ts'].join(', ')} ORDER BY __created DESC NULLS LAST) = 1`;
}

/**
 * The latest row of each entity with event time in [startMs, endMs) (ties broken by created
 * timestamp): what materialisation writes online. `keysTable` (a table of join key columns) restricts to some entities.
 */
export function latestPerEntitySql(view: ServedView, relation: string, startMs: number, endMs: number, keysTable?: string): string {
  const keys = view.joinKeys.map(sqlIdent);
  const window = `__ts >= ${sqlTimestamp(startMs)} AND __ts < ${sqlTimestamp(endMs)}`;
  const where = keysTable
    ? `${window} AND EXISTS (SELECT 1 FROM ${keysTable} __k WHERE ${keys.map((k) => `__k.${k} = __s.${k}`).join(' AND ')})`
    : window;
  return `SELECT ${[...keys, 'epoch_ms(__ts) AS __ts_ms', ...view.def.features.map((f) => sqlIdent(f.name))].join(', ')}
  FROM (${deduplicatedSourceSql(view, relation, where)})
  QUALIFY row_number() OVER (PARTITION BY ${keys.join(', ')} ORDER BY __ts DESC) = 1`;
}

export interface RetrievalColumn {
  view: ServedView;
  features: FeatureDef[];
  /** Output column names, one per feature. */
  outputs: string[];
  relation: string;
}

/**
 * The point-in-time join of an entity frame (table `__entity` with `__row` and `__ets`) with each view:
 * per entity row the latest feature row with event time at or before `__ets` (an ASOF join: never a
 * value from the future), ties broken by created timestamp, and only if within the view's ttl of
 * `__ets`; otherwise null. Rows come out in the entity frame's order, with its columns first.
 */
export function pointInTimeSql(views: readonly RetrievalColumn[], entityColumns: readonly string[]): string {
  const ctes = views.map((v, i) => {
    const keys = v.view.joinKeys.map(sqlIdent);
    const on = [...keys.map((k) => `e.${k} = f.${k}`), 'e.__ets >= f.__ts'].join(' AND ');
    const ttl = v.view.def.ttlMs;
    const fresh = ttl > 0 ? `f.__ts >= e.__ets - to_milliseconds(${ttl})` : 'f.__ts IS NOT NULL';
    const cols = v.features.map((f, j) => {
      const value = f.valueType === 'timestamp' ? `make_timestamp(f.${sqlIdent(f.name)} * 1000)` : `f.${sqlIdent(f.name)}`;
      return `CASE WHEN ${fresh} THEN ${value} END AS ${sqlIdent(v.outputs[j])}`;
    });
    return `__v${i} AS (
      SELECT e.__row, ${cols.join(', ')}
      FROM __entity e ASOF LEFT JOIN (${deduplicatedSourceSql(v.view, v.relation)}) f ON ${on}
    )`;
  });
  const select = [
    ...entityColumns.map((c) => `e.${sqlIdent(c)}`),
    ...views.flatMap((v, i) => v.outputs.map((o) => `__v${i}.${sqlIdent(o)}`)),
  ];
  const joins = views.map((_, i) => `LEFT JOIN __v${i} USING (__row)`).join('\n');
  return `WITH ${ctes.join(',\n')}
  SELECT ${select.join(', ')} FROM __entity e
  ${joins}
  ORDER BY e.__row`;
}
