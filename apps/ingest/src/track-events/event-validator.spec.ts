import { ingestV1 } from '@pulse/contracts';
import { validateEvent } from './event-validator';

const { ActivityType, RejectionReason, TargetType } = ingestV1;
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const limits = { maxFutureSkewMs: 5 * 60_000, maxPastSkewMs: 7 * 86_400_000 };

function event(overrides: Record<string, unknown> = {}) {
  return {
    eventId: 'evt-1',
    userId: 'user-1',
    type: ActivityType.ACTIVITY_TYPE_LIKE,
    target: { type: TargetType.TARGET_TYPE_POST, id: 'post-1' },
    occurredAt: { seconds: NOW / 1000 - 10, nanos: 0 },
    sessionId: '',
    properties: {},
    context: null,
    recommendationId: '',
    ...overrides,
  };
}

function rejection(raw: unknown) {
  const v = validateEvent(raw, NOW, limits);
  if (v.ok) throw new Error('expected a rejection');
  return { reason: v.reason, field: v.field, message: v.message };
}

describe('validateEvent', () => {
  it('accepts a complete event and normalises absent messages to undefined', () => {
    const v = validateEvent(event(), NOW, limits);
    expect(v.ok).toBe(true);
    expect(v.event.context).toBeUndefined();
    expect(v.event.target).toEqual({ type: TargetType.TARGET_TYPE_POST, id: 'post-1' });
  });

  it.each([
    ['eventId', 'event_id'],
    ['userId', 'user_id'],
  ])('rejects an event without %s, naming the field', (key, field) => {
    expect(rejection(event({ [key]: '' }))).toMatchObject({ reason: RejectionReason.REJECTION_REASON_MISSING_FIELD, field });
  });

  it('rejects an unset activity type as missing and an unknown one as unknown', () => {
    expect(rejection(event({ type: 0 })).reason).toBe(RejectionReason.REJECTION_REASON_MISSING_FIELD);
    expect(rejection(event({ type: 999 }))).toMatchObject({ reason: RejectionReason.REJECTION_REASON_UNKNOWN_TYPE, field: 'type' });
  });

  it('rejects an event without a target or with a target lacking its id', () => {
    expect(rejection(event({ target: null })).field).toBe('target');
    expect(rejection(event({ target: { type: TargetType.TARGET_TYPE_POST, id: '' } })).field).toBe('target.id');
    expect(rejection(event({ target: { type: 0, id: 'x' } })).field).toBe('target.type');
  });

  it('rejects an event whose timestamp is in the future beyond the skew window', () => {
    const r = rejection(event({ occurredAt: { seconds: NOW / 1000 + 600, nanos: 0 } }));
    expect(r).toMatchObject({ reason: RejectionReason.REJECTION_REASON_TIMESTAMP_OUT_OF_RANGE, field: 'occurred_at' });
    expect(r.message).toMatch(/600 s in the future/);
  });

  it('accepts a timestamp slightly ahead of the server clock', () => {
    expect(validateEvent(event({ occurredAt: { seconds: NOW / 1000 + 60, nanos: 0 } }), NOW, limits).ok).toBe(true);
  });

  it('rejects an event older than the accepted window', () => {
    expect(rejection(event({ occurredAt: { seconds: NOW / 1000 - 8 * 86_400, nanos: 0 } })).reason).toBe(
      RejectionReason.REJECTION_REASON_TIMESTAMP_OUT_OF_RANGE,
    );
  });

  it('rejects a timestamp outside google.protobuf.Timestamp, naming it', () => {
    for (const occurredAt of [
      { seconds: 2 ** 63, nanos: 0 },
      { seconds: 253_402_300_800, nanos: 0 },
      { seconds: -62_135_596_801, nanos: 0 },
      { seconds: NOW / 1000, nanos: 1_000_000_000 },
      { seconds: NOW / 1000, nanos: -1 },
    ]) {
      const r = rejection(event({ occurredAt }));
      expect(r).toMatchObject({ reason: RejectionReason.REJECTION_REASON_INVALID_VALUE, field: 'occurred_at' });
      expect(r.message).toMatch(/is not a valid timestamp \(0001-01-01 to 9999-12-31/);
    }
  });

  it('rejects an event without a timestamp', () => {
    expect(rejection(event({ occurredAt: null })).field).toBe('occurred_at');
  });

  it('rejects oversized identifiers and property maps as too large', () => {
    expect(rejection(event({ userId: 'u'.repeat(129) })).reason).toBe(RejectionReason.REJECTION_REASON_TOO_LARGE);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    expect(rejection(event({ properties: many })).field).toBe('properties');
    const big = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, 'v'.repeat(1000)]));
    expect(rejection(event({ properties: big })).message).toMatch(/exceeds 8192/);
  });

  it('rejects a property key outside [a-z][a-z0-9_]*', () => {
    expect(rejection(event({ properties: { 'Bad-Key': 'x' } }))).toMatchObject({
      reason: RejectionReason.REJECTION_REASON_INVALID_VALUE,
      field: 'properties.Bad-Key',
    });
  });

  it('rejects an event id with spaces and a malformed client IP', () => {
    expect(rejection(event({ eventId: 'has space' })).field).toBe('event_id');
    const context = { platform: 1, appVersion: '', userAgent: '', ipAddress: '999.1.1.1', locale: '', timeZone: '' };
    expect(rejection(event({ context })).field).toBe('context.ip_address');
  });
});
