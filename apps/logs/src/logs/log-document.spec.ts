import { dayOfIndex, indexFor, toDocument } from './log-document';

describe('log documents', () => {
  it('puts a line in the daily index of its own time (UTC)', () => {
    expect(indexFor('pulse-logs', '2026-03-09T23:59:59.999Z')).toBe('pulse-logs-2026.03.09');
    expect(dayOfIndex('pulse-logs', 'pulse-logs-2026.03.09')).toBe(Date.UTC(2026, 2, 9));
    expect(dayOfIndex('pulse-logs', 'pulse-logs-other')).toBeUndefined();
    expect(dayOfIndex('pulse-logs', 'pulse-logs-x-2026.03.09')).toBeUndefined();
  });

  it('keeps service, level, message, ids and error in their own fields and the rest in fields', () => {
    const doc = toDocument({
      time: '2026-03-09T10:00:00.000Z',
      service: 'storage',
      level: 'error',
      msg: 'write failed',
      trace_id: 'a'.repeat(32),
      span_id: 'b'.repeat(16),
      instance: 'host:1',
      requestId: 42,
      user_id: 'h:0123456789abcdef',
      context: 'ActivityRepository',
      err: { type: 'Error', message: 'timeout', stack: 'Error: timeout\n at x' },
      table: 'activity',
    });
    expect(doc).toEqual({
      '@timestamp': '2026-03-09T10:00:00.000Z',
      service: 'storage',
      level: 'error',
      level_value: 50,
      message: 'write failed',
      trace_id: 'a'.repeat(32),
      span_id: 'b'.repeat(16),
      request_id: '42',
      user_hash: 'h:0123456789abcdef',
      instance: 'host:1',
      context: 'ActivityRepository',
      error: { type: 'Error', message: 'timeout', stack: 'Error: timeout\n at x' },
      fields: { user_id: 'h:0123456789abcdef', table: 'activity' },
    });
  });

  it('reads an unknown level as info', () => {
    expect(toDocument({ time: '2026-03-09T10:00:00Z', service: 's', level: 'loud', instance: 'h:1' })).toMatchObject({
      level: 'info',
      level_value: 30,
      message: '',
    });
  });
});
