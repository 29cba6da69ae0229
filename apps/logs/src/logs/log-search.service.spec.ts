import { status } from '@grpc/grpc-js';
import { searchRequest } from './log-search.service';

const query = { services: [], minLevel: '', text: '', traceId: '', limit: 0 };
const NOW = Date.UTC(2026, 2, 9, 12);

describe('searchRequest', () => {
  it('looks at the last hour, newest first, 100 lines, when nothing is given', () => {
    expect(searchRequest(query, NOW)).toEqual({
      size: 100,
      track_total_hits: 10_000,
      sort: [{ '@timestamp': 'desc' }, { _doc: 'desc' }],
      query: { bool: { filter: [{ range: { '@timestamp': { gte: NOW - 3_600_000, lt: NOW, format: 'epoch_millis' } } }], must: [] } },
    });
  });

  it('filters by services, lowest level, trace and words', () => {
    const request = searchRequest(
      { ...query, services: ['ingest', 'etl'], minLevel: 'warn', traceId: 'f'.repeat(32), text: 'timeout -retry', limit: 20 },
      NOW,
    );
    expect(request.size).toBe(20);
    expect(request.query.bool.filter).toEqual(
      expect.arrayContaining([
        { terms: { service: ['ingest', 'etl'] } },
        { range: { level_value: { gte: 40 } } },
        { term: { trace_id: 'f'.repeat(32) } },
      ]),
    );
    expect(request.query.bool.must).toEqual([
      { simple_query_string: { query: 'timeout -retry', fields: ['message', 'error.message'], default_operator: 'and' } },
    ]);
  });

  it.each([
    [{ minLevel: 'loud' }, 'min_level'],
    [{ traceId: 'xyz' }, 'trace_id'],
    [{ limit: 501 }, 'limit'],
    [{ text: 'a'.repeat(501) }, 'text'],
    [{ sinceMs: NOW, untilMs: NOW }, 'since'],
  ])('refuses %j with INVALID_ARGUMENT on %s', (bad, field) => {
    expect(() => searchRequest({ ...query, ...bad }, NOW)).toThrow(
      expect.objectContaining({ code: status.INVALID_ARGUMENT, message: expect.stringContaining(field) }),
    );
  });
});
