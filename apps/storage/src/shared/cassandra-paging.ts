import type { Client, types } from 'cassandra-driver';

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
    const rs = await db.execute(query, params, { isIdempotent: true, fetchSize, pageState });
    yield rs.rows.map(map);
    pageState = rs.pageState ?? undefined;
  } while (pageState);
}
