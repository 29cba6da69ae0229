import { ingestV1, isValidTimestamp } from '@pulse/contracts';
import { isIP } from 'node:net';

const { ActivityType, Platform, RejectionReason, TargetType } = ingestV1;
type ActivityEvent = ingestV1.ActivityEvent;

export interface ValidationLimits {
  maxFutureSkewMs: number;
  maxPastSkewMs: number;
}

export type Validation =
  | { ok: true; event: ActivityEvent }
  | { ok: false; event: ActivityEvent; reason: ingestV1.RejectionReason; message: string; field: string };

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;
const PROPERTY_KEY = /^[a-z][a-z0-9_]*$/;
const MAX_PROPERTIES = 64;
const MAX_PROPERTY_KEY = 64;
const MAX_PROPERTY_VALUE = 1024;
const MAX_PROPERTIES_BYTES = 8 * 1024;
const MAX_ID = 128;

const KNOWN_ACTIVITY_TYPES = new Set(Object.values(ActivityType).filter((v) => typeof v === 'number'));
const KNOWN_TARGET_TYPES = new Set(Object.values(TargetType).filter((v) => typeof v === 'number'));
const KNOWN_PLATFORMS = new Set(Object.values(Platform).filter((v) => typeof v === 'number'));

class Rejection {
  constructor(
    readonly reason: ingestV1.RejectionReason,
    readonly field: string,
    readonly message: string,
  ) {}
}

const missing = (field: string) => new Rejection(RejectionReason.REJECTION_REASON_MISSING_FIELD, field, `${field} is required`);
const invalid = (field: string, why: string) => new Rejection(RejectionReason.REJECTION_REASON_INVALID_VALUE, field, `${field} ${why}`);
const tooLarge = (field: string, why: string) => new Rejection(RejectionReason.REJECTION_REASON_TOO_LARGE, field, `${field} ${why}`);

/**
 * Turns what the gRPC layer decoded (proto-loader objects: nulls for absent messages, numbers for
 * enums, possibly unknown enum numbers) into a clean ActivityEvent, and checks every documented
 * constraint of pulse.ingest.v1.ActivityEvent. The first violation found is reported.
 */
export function validateEvent(raw: unknown, nowMs: number, limits: ValidationLimits): Validation {
  const event = normalizeEvent(raw);
  const rejection = check(event, nowMs, limits);
  if (!rejection) return { ok: true, event };
  return { ok: false, event, reason: rejection.reason, field: rejection.field, message: rejection.message };
}

function check(e: ActivityEvent, nowMs: number, limits: ValidationLimits): Rejection | undefined {
  if (!e.eventId) return missing('event_id');
  if (e.eventId.length > MAX_ID) return tooLarge('event_id', `exceeds ${MAX_ID} characters`);
  if (!PRINTABLE_ASCII.test(e.eventId)) return invalid('event_id', 'must be printable ASCII without spaces');
  if (!e.userId) return missing('user_id');
  if (e.userId.length > MAX_ID) return tooLarge('user_id', `exceeds ${MAX_ID} characters`);
  if (e.type === ActivityType.ACTIVITY_TYPE_UNSPECIFIED) return missing('type');
  if (!KNOWN_ACTIVITY_TYPES.has(e.type)) {
    return new Rejection(RejectionReason.REJECTION_REASON_UNKNOWN_TYPE, 'type', `type ${e.type} is not a known activity type`);
  }
  if (!e.target) return missing('target');
  if (e.target.type === TargetType.TARGET_TYPE_UNSPECIFIED) return missing('target.type');
  if (!KNOWN_TARGET_TYPES.has(e.target.type)) {
    return new Rejection(
      RejectionReason.REJECTION_REASON_UNKNOWN_TYPE,
      'target.type',
      `target.type ${e.target.type} is not a known target type`,
    );
  }
  if (!e.target.id) return missing('target.id');
  if (e.target.id.length > MAX_ID) return tooLarge('target.id', `exceeds ${MAX_ID} characters`);

  if (!e.occurredAt) return missing('occurred_at');
  const { seconds, nanos } = e.occurredAt;
  if (!isValidTimestamp(e.occurredAt)) {
    return invalid(
      'occurred_at',
      `{seconds: ${seconds}, nanos: ${nanos}} is not a valid timestamp (0001-01-01 to 9999-12-31, nanos 0 to 999999999)`,
    );
  }
  const occurredMs = seconds * 1000 + Math.floor(nanos / 1e6);
  if (occurredMs > nowMs + limits.maxFutureSkewMs) {
    return new Rejection(
      RejectionReason.REJECTION_REASON_TIMESTAMP_OUT_OF_RANGE,
      'occurred_at',
      `occurred_at is ${Math.round((occurredMs - nowMs) / 1000)} s in the future (limit ${limits.maxFutureSkewMs / 1000} s)`,
    );
  }
  if (occurredMs < nowMs - limits.maxPastSkewMs) {
    return new Rejection(
      RejectionReason.REJECTION_REASON_TIMESTAMP_OUT_OF_RANGE,
      'occurred_at',
      `occurred_at is older than the accepted window of ${limits.maxPastSkewMs / 1000} s`,
    );
  }

  if (e.sessionId.length > MAX_ID) return tooLarge('session_id', `exceeds ${MAX_ID} characters`);
  if (e.recommendationId.length > MAX_ID) return tooLarge('recommendation_id', `exceeds ${MAX_ID} characters`);

  const keys = Object.keys(e.properties);
  if (keys.length > MAX_PROPERTIES) return tooLarge('properties', `has ${keys.length} entries (limit ${MAX_PROPERTIES})`);
  let bytes = 0;
  for (const key of keys) {
    const value = e.properties[key];
    if (key.length > MAX_PROPERTY_KEY) return tooLarge(`properties.${key}`, `key exceeds ${MAX_PROPERTY_KEY} characters`);
    if (!PROPERTY_KEY.test(key)) return invalid(`properties.${key}`, 'key must match [a-z][a-z0-9_]*');
    if (value.length > MAX_PROPERTY_VALUE) return tooLarge(`properties.${key}`, `value exceeds ${MAX_PROPERTY_VALUE} characters`);
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (bytes > MAX_PROPERTIES_BYTES) return tooLarge('properties', `total ${bytes} bytes exceeds ${MAX_PROPERTIES_BYTES}`);

  const c = e.context;
  if (c) {
    if (!KNOWN_PLATFORMS.has(c.platform))
      return new Rejection(
        RejectionReason.REJECTION_REASON_UNKNOWN_TYPE,
        'context.platform',
        `context.platform ${c.platform} is not known`,
      );
    if (c.appVersion.length > 64) return tooLarge('context.app_version', 'exceeds 64 characters');
    if (c.userAgent.length > 512) return tooLarge('context.user_agent', 'exceeds 512 characters');
    if (c.ipAddress && isIP(c.ipAddress) === 0) return invalid('context.ip_address', 'is not an IPv4 or IPv6 address');
    if (c.locale.length > 35) return tooLarge('context.locale', 'exceeds 35 characters');
    if (c.timeZone.length > 64) return tooLarge('context.time_zone', 'exceeds 64 characters');
  }
  return undefined;
}

type Loose = Record<string, unknown> | null | undefined;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0);

/** A clean ActivityEvent from a decoded request object: absent messages become undefined, never null. */
export function normalizeEvent(raw: unknown): ActivityEvent {
  const r = (raw ?? {}) as Record<string, unknown>;
  const target = r['target'] as Loose;
  const occurredAt = r['occurredAt'] as Loose;
  const context = r['context'] as Loose;
  const properties: Record<string, string> = {};
  const rawProps = r['properties'];
  if (rawProps && typeof rawProps === 'object') {
    for (const [k, v] of Object.entries(rawProps as Record<string, unknown>)) properties[k] = str(v);
  }
  return {
    eventId: str(r['eventId']),
    userId: str(r['userId']),
    type: num(r['type']),
    target: target ? { type: num(target['type']), id: str(target['id']) } : undefined,
    occurredAt: occurredAt ? { seconds: num(occurredAt['seconds']), nanos: num(occurredAt['nanos']) } : undefined,
    sessionId: str(r['sessionId']),
    properties,
    context: context
      ? {
          platform: num(context['platform']),
          appVersion: str(context['appVersion']),
          userAgent: str(context['userAgent']),
          ipAddress: str(context['ipAddress']),
          locale: str(context['locale']),
          timeZone: str(context['timeZone']),
        }
      : undefined,
    recommendationId: str(r['recommendationId']),
  };
}
