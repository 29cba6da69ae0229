import { type Client, types } from 'cassandra-driver';

/**
 * The rows of a query a page at a time (the driver's paging state between pages), each page mapped: full-table scans
 * for reconciliation and audits, never a request path.
 */
export async function* pagedRows<T>(
  db: Client,
  query: string,
  fetchSize: number,
  map: (row: types.Row) => T,
  params: unknown[] = [],
): AsyncGenerator<T[]> {
  let pageState: string | undefined;
  do {
    const rs = await db.execute(query, params, { isIdempotent: true, fetchSize, pageState, prepare: params.length > 0 });
    yield rs.rows.map(map);
    pageState = rs.pageState ?? undefined;
  } while (pageState);
}

/**
 * The Murmur3 token ring cut into `parts` ranges (start exclusive, end inclusive), for a table scanned by several
 * queries at once (`WHERE token(pk) > ? AND token(pk) <= ?`), as Spark's Cassandra connector splits its scans. The
 * ring's minimum token is no key's token, so the first range starting there loses nothing.
 */
export function tokenRanges(parts: number): [types.Long, types.Long][] {
  const min = -(2n ** 63n);
  const span = 2n ** 64n - 1n;
  const bounds = Array.from({ length: parts + 1 }, (_, i) => (i === parts ? 2n ** 63n - 1n : min + (span * BigInt(i)) / BigInt(parts)));
  return bounds.slice(1).map((end, i) => [types.Long.fromString(bounds[i].toString()), types.Long.fromString(end.toString())]);
}
