import { ingestV1 } from '@pulse/contracts';
import { createHash } from 'node:crypto';

type ActivityEvent = ingestV1.ActivityEvent;

/** Bytes a record adds to a Kafka record batch beside its key and value (attributes, deltas, lengths, headers). */
export const RECORD_OVERHEAD_BYTES = 64;
/** Kept free below a topic's max.message.bytes for the record batch's own header. */
export const BATCH_MARGIN_BYTES = 1024;
/** What a cut-down event keeps of each property value and string field. */
const KEPT_CHARS = 256;

/** The part of an event that takes the most bytes, named as the field of a TOO_LARGE rejection. */
export function largestField(e: ActivityEvent): string {
  const sizes: [string, number][] = [
    ['event_id', Buffer.byteLength(e.eventId)],
    ['user_id', Buffer.byteLength(e.userId)],
    ['target.id', Buffer.byteLength(e.target?.id ?? '')],
    ['session_id', Buffer.byteLength(e.sessionId)],
    ['recommendation_id', Buffer.byteLength(e.recommendationId)],
    ['context', e.context ? ingestV1.ClientContext.encode(e.context).finish().length : 0],
  ];
  for (const [key, value] of Object.entries(e.properties))
    sizes.push([`properties.${key}`, Buffer.byteLength(key) + Buffer.byteLength(value)]);
  const properties = Object.entries(e.properties).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  const largestProperty = sizes.filter(([f]) => f.startsWith('properties.')).reduce((m, [, n]) => Math.max(m, n), 0);
  // Many small properties: the map is the culprit, not one of them.
  if (properties > 2 * largestProperty) sizes.push(['properties', properties]);
  return sizes.reduce((best, s) => (s[1] > best[1] ? s : best))[0];
}

/**
 * The event as received, cut down so that its dead letter fits the rejected topic: every string shortened to
 * 256 characters, at most 64 properties; with the SHA-256 and size of the original's protobuf encoding, so
 * the client's copy can be matched against it.
 */
export function cutDown(e: ActivityEvent): { event: ActivityEvent; originalSha256: string; originalSizeBytes: number } {
  const original = ingestV1.ActivityEvent.encode(e).finish();
  const cut = (s: string) => (s.length > KEPT_CHARS ? s.slice(0, KEPT_CHARS) : s);
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(e.properties).slice(0, 64)) properties[cut(key)] = cut(value);
  return {
    event: {
      eventId: cut(e.eventId),
      userId: cut(e.userId),
      type: e.type,
      target: e.target && { type: e.target.type, id: cut(e.target.id) },
      occurredAt: e.occurredAt,
      sessionId: cut(e.sessionId),
      properties,
      context: e.context && {
        platform: e.context.platform,
        appVersion: cut(e.context.appVersion),
        userAgent: cut(e.context.userAgent),
        ipAddress: cut(e.context.ipAddress),
        locale: cut(e.context.locale),
        timeZone: cut(e.context.timeZone),
      },
      recommendationId: cut(e.recommendationId),
    },
    originalSha256: createHash('sha256').update(original).digest('hex'),
    originalSizeBytes: original.length,
  };
}

/**
 * An ActivityTracked record from its event's bytes and the rest of the message (fields 2 and 3, the same for a
 * whole call): protobuf's encoding of field 1 followed by the others, so an event is encoded only once.
 */
export function trackedRecordBytes(eventBytes: Uint8Array, envelope: Uint8Array): Buffer {
  // Written by hand into one buffer: a protobuf writer per record cost ingest ~6 % of its thread (tools/bench/ingest).
  let lengthBytes = 1;
  for (let n = eventBytes.length; n >= 0x80; n = Math.floor(n / 0x80)) lengthBytes++;
  const record = Buffer.allocUnsafe(1 + lengthBytes + eventBytes.length + envelope.length);
  record[0] = 0x0a; // field 1, length-delimited
  let at = 1;
  for (let n = eventBytes.length; ; n = Math.floor(n / 0x80)) {
    if (n < 0x80) {
      record[at++] = n;
      break;
    }
    record[at++] = (n & 0x7f) | 0x80;
  }
  record.set(eventBytes, at);
  record.set(envelope, at + eventBytes.length);
  return record;
}
