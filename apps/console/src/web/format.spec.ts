import { ago, bytes, duration, enumName, when } from './format';

describe('format', () => {
  it('shows times, ages, durations and sizes the way an operator reads them', () => {
    expect(when({ seconds: 1_717_236_000, nanos: 0 })).toBe('2024-06-01 10:00:00 UTC');
    expect(when(undefined)).toBe('—');
    expect(ago(1_000, 61_000)).toBe('1 min ago');
    expect(duration(850)).toBe('850 ms');
    expect(duration(7_200_000)).toBe('2 h');
    expect(bytes(512)).toBe('512 B');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(enumName({ 1: 'STREAM_STATE_RUNNING' }, 1, 'STREAM_STATE_')).toBe('RUNNING');
    expect(enumName({}, 7, 'X_')).toBe('7');
  });
});
