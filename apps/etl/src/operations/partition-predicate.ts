/**
 * A partition predicate as CompactTable accepts it: comparisons of partition columns with string
 * literals joined by AND, e.g. `event_date >= '2024-06-01' AND event_date < '2024-07-01'`. Parsed, not
 * passed to an engine, so a request cannot run arbitrary SQL.
 */
export type PartitionPredicate = (values: Record<string, string | null>) => boolean;

const COMPARISON = /^\s*([a-z_][a-z0-9_]*)\s*(=|!=|<>|<=|>=|<|>)\s*'((?:[^']|'')*)'\s*$/i;

export function parsePartitionPredicate(text: string, partitionColumns: readonly string[]): PartitionPredicate {
  const terms = text.split(/\s+AND\s+/i).map((term, i) => {
    const match = term.match(COMPARISON);
    if (!match) throw new Error(`term ${i + 1} ("${term.trim()}") is not <partition column> <op> '<value>'`);
    const [, column, op, raw] = match;
    if (!partitionColumns.includes(column)) {
      throw new Error(`${column} is not a partition column (${partitionColumns.join(', ') || 'the table is not partitioned'})`);
    }
    return { column, op, value: raw.replace(/''/g, "'") };
  });
  return (values) =>
    terms.every(({ column, op, value }) => {
      const actual = values[column];
      if (actual === null || actual === undefined) return false;
      const numeric = /^-?\d+(\.\d+)?$/.test(actual) && /^-?\d+(\.\d+)?$/.test(value);
      const cmp = numeric ? Number(actual) - Number(value) : actual < value ? -1 : actual > value ? 1 : 0;
      switch (op) {
        case '=':
          return cmp === 0;
        case '!=':
        case '<>':
          return cmp !== 0;
        case '<':
          return cmp < 0;
        case '<=':
          return cmp <= 0;
        case '>':
          return cmp > 0;
        default:
          return cmp >= 0;
      }
    });
}
