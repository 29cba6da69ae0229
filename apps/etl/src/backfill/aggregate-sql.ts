import { sqlIdent, sqlString } from '@pulse/lake';
import type { AggregateDefinition } from '../aggregates/aggregate-definitions';

/**
 * The SQL (DuckDB) of an aggregate's windows whose start lies in [fromMs, toMs), computed from the
 * bronze activity table: the batch counterpart of the streaming WindowAggregator, used by backfills.
 * Tumbling and sliding windows only; sessions depend on the events around the range.
 */
export function aggregateWindowsSql(definition: AggregateDefinition, bronze: string, fromMs: number, toMs: number): string {
  const spec = definition.window;
  if (spec.kind === 'session') throw new Error(`${definition.name} uses session windows, which a range backfill cannot recompute`);
  const size = spec.sizeMs;
  const slide = spec.kind === 'sliding' ? spec.slideMs : spec.sizeMs;
  const windowsPerEvent = Math.ceil(size / slide);
  const group = definition.group.from === 'user_id' ? 'user_id' : 'target_id';
  const counters = definition.counters.map((c) =>
    c.types
      ? `count(*) FILTER (WHERE type IN (${c.types.map(sqlString).join(', ')}))::BIGINT AS ${sqlIdent(c.name)}`
      : `count(*)::BIGINT AS ${sqlIdent(c.name)}`,
  );
  const derived = definition.derived.map((d) => {
    switch (d.kind) {
      case 'sum':
        return `(${d.of.map(sqlIdent).join(' + ')})::DOUBLE AS ${sqlIdent(d.name)}`;
      case 'ratio':
        return `CASE WHEN ${sqlIdent(d.denominator)} = 0 THEN 0 ELSE ${sqlIdent(d.numerator)}::DOUBLE / ${sqlIdent(d.denominator)} END AS ${sqlIdent(d.name)}`;
      case 'session_seconds':
        throw new Error('session_seconds needs session windows');
    }
  });
  const filter = [
    definition.targetType ? `target_type = ${sqlString(definition.targetType)}` : 'true',
    `${group} IS NOT NULL AND ${group} <> ''`,
  ].join(' AND ');
  const starts =
    `(SELECT ${group} AS grp, type, epoch_ms(occurred_at) AS t_ms, (floor(epoch_ms(occurred_at) / ${slide}) * ${slide} - k * ${slide})::BIGINT AS start_ms ` +
    `FROM ${bronze}, range(0, ${windowsPerEvent}) r(k) WHERE ${filter})`;
  const counted =
    `SELECT start_ms, grp, ${counters.join(', ')} FROM ${starts} ` +
    `WHERE start_ms >= ${fromMs} AND start_ms < ${toMs} AND start_ms + ${size} > t_ms GROUP BY start_ms, grp`;
  return (
    `SELECT make_timestamptz(start_ms * 1000) AS window_start, make_timestamptz((start_ms + ${size}) * 1000) AS window_end, ` +
    `grp AS ${sqlIdent(definition.group.column)}, ${definition.counters.map((c) => sqlIdent(c.name)).join(', ')}` +
    `${derived.length > 0 ? `, ${derived.join(', ')}` : ''} FROM (${counted})`
  );
}
