import { DecodeError, PermanentError } from './consumer-errors';
import { DeadLetterHeaders, deadLetterRecord, readDeadLetter } from './dead-letters';

describe('dead letters', () => {
  const letter = {
    topic: 'pulse.activity.tracked.v1',
    partition: 2,
    offset: 41n,
    timestampMs: 1_700_000_000_000,
    headers: { traceparent: '00-abc-def-01' },
    raw: { key: Buffer.from('u-1'), value: Buffer.from([0xff, 0xff, 0xff]) },
    group: 'storage-activity',
    stage: 'decode' as const,
    error: new DecodeError('cannot decode the value of pulse.activity.tracked.v1: invalid wire type 7'),
    attempts: 1,
  };

  it('keeps the original bytes and headers, and says where the record came from and why it failed', () => {
    const record = deadLetterRecord(letter, 1_700_000_000_500);
    expect(record.key).toEqual(Buffer.from('u-1'));
    expect(record.value).toEqual(Buffer.from([0xff, 0xff, 0xff]));
    expect(record.headers).toEqual({
      traceparent: '00-abc-def-01',
      [DeadLetterHeaders.topic]: 'pulse.activity.tracked.v1',
      [DeadLetterHeaders.partition]: '2',
      [DeadLetterHeaders.offset]: '41',
      [DeadLetterHeaders.timestamp]: '1700000000000',
      [DeadLetterHeaders.group]: 'storage-activity',
      [DeadLetterHeaders.stage]: 'decode',
      [DeadLetterHeaders.exceptionClass]: 'DecodeError',
      [DeadLetterHeaders.exceptionMessage]: 'cannot decode the value of pulse.activity.tracked.v1: invalid wire type 7',
      [DeadLetterHeaders.attempts]: '1',
      [DeadLetterHeaders.failedAt]: '1700000000500',
    });
  });

  it('reads a dead letter back with its source position and the source headers apart', () => {
    const record = deadLetterRecord({ ...letter, stage: 'handle', error: new PermanentError('no such post'), attempts: 3 });
    const stored = readDeadLetter({
      topic: 'pulse.deadletter.storage_activity.v1',
      partition: 0,
      offset: 7n,
      timestampMs: 0,
      key: record.key,
      value: record.value,
      headers: record.headers!,
    });
    expect(stored).toMatchObject({
      topic: 'pulse.activity.tracked.v1',
      partition: 2,
      offset: 41n,
      group: 'storage-activity',
      stage: 'handle',
      exceptionClass: 'PermanentError',
      exceptionMessage: 'no such post',
      attempts: 3,
      headers: { traceparent: '00-abc-def-01' },
      at: { topic: 'pulse.deadletter.storage_activity.v1', partition: 0, offset: 7n },
    });
  });

  it('ignores a record without the source headers', () => {
    expect(readDeadLetter({ topic: 't', partition: 0, offset: 0n, timestampMs: 0, key: null, value: null, headers: {} })).toBeNull();
  });
});
