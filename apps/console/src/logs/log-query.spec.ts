import { logFilters, queryString, searchRequest } from './log-query';

describe('the log page query', () => {
  it('reads the form, keeping only the choices it offers', () => {
    expect(logFilters({ service: 'ingest', level: 'warn', window: '15m', text: ' timeout ', trace: 'ABC' })).toEqual({
      service: 'ingest',
      level: 'warn',
      window: '15m',
      text: 'timeout',
      trace: 'abc',
    });
    expect(logFilters({ level: 'loud', window: '3y' })).toEqual({ service: '', level: '', window: '1h', text: '', trace: '' });
  });

  it('asks SearchLogs for the window up to now, newest first, up to 200 lines', () => {
    const now = 1_700_000_000_000;
    const request = searchRequest(logFilters({ service: 'etl', window: '5m', trace: 'f'.repeat(32) }), now);
    expect(request).toMatchObject({ services: ['etl'], minLevel: '', traceId: 'f'.repeat(32), limit: 200 });
    expect(request.since).toEqual({ seconds: (now - 300_000) / 1000, nanos: 0 });
  });

  it('writes only the filters that are set into a query string', () => {
    expect(queryString({ service: 'etl', level: '', trace: 'ab' })).toBe('service=etl&trace=ab');
  });
});
