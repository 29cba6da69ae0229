import { sqlIdent, sqlString } from '@pulse/lake';
import type { FeatureDef } from '../registry/definitions';
import type { ServedView } from '../registry/loaded-registry';

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

/** The source columns a view reads: join keys, `__ts` and `__created` (TIMESTAMP, UTC), the features. */
function sourceColumnsSql(view: ServedView, relation: string): string {
  const batch = view.def.source.batch;
  if (!batch) throw new Error(`feature view ${view.def.name} has no offline source`);
  const keys = view.joinKeys.map(sqlIdent);
  const ts = `CAST(${sqlIdent(batch.timestampField)} AS TIMESTAMP)`;
  const created = batch.createdTimestampField ? `CAST(${sqlIdent(batch.createdTimestampField)} AS TIMESTAMP)` : 'NULL::TIMESTAMP';
  const features = view.def.features.map((f) => `${featureExpr(f)} AS ${sqlIdent(f.name)}`);
  return `SELECT ${[...keys, `${ts} AS __ts`, `${created} AS __created`, ...features].join(', ')} FROM ${relation}`;
}

/** The features of a view packed in one struct, the value an arg_max picks per group. */
function packedFeatures(view: ServedView, extra: string[] = []): string {
  return `struct_pack(${[...extra, ...view.def.features.map((f) => `${sqlIdent(f.name)} := ${sqlIdent(f.name)}`)].join(', ')})`;
}

/** Ordering of rows with equal keys: the event time, then the created timestamp (absent counts as oldest). */
const LATEST = "struct_pack(t := __ts, c := coalesce(__created, '-infinity'::TIMESTAMP))";

/**
 * The rows of a view's offline source, one per entity and event time (ties broken by the created
 * timestamp, latest first): join keys, `__ts` (TIMESTAMP, UTC) and the features. `where` filters on `__ts`
 * and join keys. An aggregation (arg_max), not a window function, so DuckDB can spill it to disk.
 */
export function deduplicatedSourceSql(view: ServedView, relation: string, where = 'TRUE'): string {
  const keys = view.joinKeys.map(sqlIdent);
  return `SELECT ${[...keys, '__ts'].join(', ')}, __r.* FROM (
    SELECT ${[...keys, '__ts'].join(', ')}, arg_max(${packedFeatures(view)}, coalesce(__created, '-infinity'::TIMESTAMP)) AS __r
    FROM (${sourceColumnsSql(view, relation)}) __s WHERE ${where}
    GROUP BY ${[...keys, '__ts'].join(', ')}
  )`;
}

/** The distinct join keys of a view's source rows matching `where` (on `__ts` and join keys). */
export function entityKeysSql(view: ServedView, relation: string, where: string): string {
  const keys = view.joinKeys.map(sqlIdent);
  return `SELECT DISTINCT ${keys.join(', ')} FROM (${sourceColumnsSql(view, relation)}) __s WHERE ${where}`;
}

/** Materialisation's row filter: event time in [startMs, endMs), and the entities of `keysTable` when given. */
export function materializationFilter(view: ServedView, startMs: number, endMs: number, keysTable?: string): string {
  const keys = view.joinKeys.map(sqlIdent);
  const window = `__ts >= ${sqlTimestamp(startMs)} AND __ts < ${sqlTimestamp(endMs)}`;
  return keysTable
    ? `${window} AND EXISTS (SELECT 1 FROM ${keysTable} __k WHERE ${keys.map((k) => `__k.${k} = __s.${k}`).join(' AND ')})`
    : window;
}

/** How many source rows of a view match `where`. */
export function countRowsSql(view: ServedView, relation: string, where: string): string {
  return `SELECT count(*) AS n FROM (${sourceColumnsSql(view, relation)}) __s WHERE ${where}`;
}

/**
 * The latest row of each entity among the source rows matching `where` (ties broken by created
 * timestamp): what materialisation writes online. One aggregation (arg_max over event time, then created
 * time); `partition` restricts it to the entities whose key hash falls in one of `count` partitions, so
 * each pass holds the state of a share of the entities only.
 */
export function latestPerEntitySql(view: ServedView, relation: string, filter: string, partition?: KeyPartition): string {
  const keys = view.joinKeys.map(sqlIdent);
  const where = `${filter} AND ${keyPartitionSql(view, partition)}`;
  return `SELECT ${keys.join(', ')}, __r.* FROM (
    SELECT ${keys.join(', ')}, arg_max(${packedFeatures(view, ['__ts_ms := epoch_ms(__ts)'])}, ${LATEST}) AS __r
    FROM (${sourceColumnsSql(view, relation)}) __s WHERE ${where}
    GROUP BY ${keys.join(', ')}
  )`;
}

export interface RetrievalColumn {
  view: ServedView;
  features: FeatureDef[];
  /** Output column names, one per feature. */
  outputs: string[];
  relation: string;
}

/** A hash partition of entities: the rows whose join key hash modulo `count` is `index`. */
export interface KeyPartition {
  index: number;
  count: number;
}

const KEY_CASTS: Record<string, string> = { int32: 'BIGINT', int64: 'BIGINT', string: 'VARCHAR', bool: 'BOOLEAN' };

/**
 * The predicate of one key-hash partition of a view's entities. Keys are cast to their entity's declared
 * type first, so an entity frame and a source that store a key with different widths (INTEGER, BIGINT)
 * hash it alike. `prefix` qualifies the columns (`e.`).
 */
export function keyPartitionSql(view: ServedView, partition: KeyPartition | undefined, prefix = ''): string {
  if (!partition || partition.count <= 1) return 'TRUE';
  const keys = view.joinKeys.map((k) => `CAST(${prefix}${sqlIdent(k)} AS ${KEY_CASTS[view.joinKeyTypes.get(k) ?? 'string'] ?? 'VARCHAR'})`);
  return `hash(${keys.join(', ')}) % ${partition.count} = ${partition.index}`;
}

/**
 * One view's point-in-time values for the entity frame (table `__entity` with `__row` and `__ets`), or
 * for the entity rows of one key partition: per entity row the latest feature row with event time at or
 * before `__ets` (an ASOF join: never a value from the future), ties broken by created timestamp, and only
 * if within the view's ttl of `__ets`; otherwise null. Columns: `__row`, then the view's output columns.
 */
export function viewAsOfSql(v: RetrievalColumn, partition?: KeyPartition): string {
  const keys = v.view.joinKeys.map(sqlIdent);
  const on = [...keys.map((k) => `e.${k} = f.${k}`), 'e.__ets >= f.__ts'].join(' AND ');
  const ttl = v.view.def.ttlMs;
  const fresh = ttl > 0 ? `f.__ts >= e.__ets - to_milliseconds(${ttl})` : 'f.__ts IS NOT NULL';
  const cols = v.features.map((f, j) => {
    const value = f.valueType === 'timestamp' ? `make_timestamp(f.${sqlIdent(f.name)} * 1000)` : `f.${sqlIdent(f.name)}`;
    return `CASE WHEN ${fresh} THEN ${value} END AS ${sqlIdent(v.outputs[j])}`;
  });
  return `SELECT e.__row, ${cols.join(', ')}
    FROM (SELECT * FROM __entity WHERE ${keyPartitionSql(v.view, partition)}) e
    ASOF LEFT JOIN (${deduplicatedSourceSql(v.view, v.relation, keyPartitionSql(v.view, partition))}) f ON ${on}`;
}

/**
 * The training set: the entity frame's columns, then each view's output columns, joined on `__row` from
 * `perView` (a table expression per view with `__row` and its outputs: the view's ASOF join itself, or the
 * Parquet files its partitions were written to). Rows come out in the entity frame's order, duplicates kept.
 */
export function trainingSetSql(views: readonly RetrievalColumn[], entityColumns: readonly string[], perView: readonly string[]): string {
  const select = [
    ...entityColumns.map((c) => `e.${sqlIdent(c)}`),
    ...views.flatMap((v, i) => v.outputs.map((o) => `__v${i}.${sqlIdent(o)}`)),
  ];
  const joins = perView.map((relation, i) => `LEFT JOIN ${relation} __v${i} ON __v${i}.__row = e.__row`).join('\n');
  return `SELECT ${select.join(', ')} FROM __entity e
  ${joins}
  ORDER BY e.__row`;
}
