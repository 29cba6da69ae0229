import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { isUtf8 } from 'node:buffer';

/**
 * The bytes of each event of an encoded TrackEventsRequest (field 1, in order), as views of the request; undefined when
 * the request cannot be read that way (it then decoded as something else: the events are encoded again).
 */
export function eventBytesOf(request: Buffer | undefined, expected: number): Buffer[] | undefined {
  if (!request) return undefined;
  const events: Buffer[] = [];
  const reader = new BinaryReader(request);
  try {
    while (reader.pos < reader.len) {
      const [field, wire] = reader.tag();
      if (field === 1 && wire === WireType.LengthDelimited) events.push(reader.bytes() as Buffer);
      else reader.skip(wire, field);
    }
  } catch {
    return undefined;
  }
  return events.length === expected ? events : undefined;
}

const VARINT = 0;
const LEN = 2;
type MessageName = 'ActivityEvent' | 'Target' | 'Timestamp' | 'PropertiesEntry' | 'ClientContext';
/** A field's wire type, whether it holds UTF-8 text, and the message it holds (by name in SCHEMA). */
type FieldShape = { wire: number; text?: true; message?: MessageName; repeated?: true };
const text: FieldShape = { wire: LEN, text: true };
const varint: FieldShape = { wire: VARINT };

/** pulse.ingest.v1.ActivityEvent and the messages inside it (proto/pulse/ingest/v1/activity.proto). */
const SCHEMA: Record<MessageName, Record<number, FieldShape>> = {
  ActivityEvent: {
    1: text, // event_id
    2: text, // user_id
    3: varint, // type
    4: { wire: LEN, message: 'Target' }, // target
    5: { wire: LEN, message: 'Timestamp' }, // occurred_at
    6: text, // session_id
    7: { wire: LEN, message: 'PropertiesEntry', repeated: true }, // properties
    8: { wire: LEN, message: 'ClientContext' }, // context
    9: text, // recommendation_id
  },
  Target: { 1: varint, 2: text },
  Timestamp: { 1: varint, 2: varint },
  PropertiesEntry: { 1: text, 2: text },
  ClientContext: { 1: varint, 2: text, 3: text, 4: text, 5: text, 6: text },
};

/**
 * Whether an event's bytes say exactly what its decoded form says, to every protobuf reader: only the fields of
 * ActivityEvent (and of the messages inside it) with their wire types, each singular field once (a message field given
 * twice is merged by some readers and replaced by others), text that is UTF-8 (which strict readers require). Such
 * bytes can be written to Kafka as they came; any other event is encoded again from what ingest validated.
 */
export function isPlainEvent(bytes: Buffer): boolean {
  return plain(bytes, 0, bytes.length, 'ActivityEvent');
}

function plain(bytes: Buffer, start: number, end: number, message: MessageName): boolean {
  const fields = SCHEMA[message];
  let seen = 0;
  at = start;
  while (at < end) {
    const tag = varintAt(bytes, end);
    if (tag < 0) return false;
    const number = Math.floor(tag / 8);
    const shape = fields[number];
    if (!shape || shape.wire !== tag % 8) return false;
    if (!shape.repeated) {
      if (seen & (1 << number)) return false;
      seen |= 1 << number;
    }
    if (shape.wire === VARINT) {
      if (varintAt(bytes, end) < 0) return false;
      continue;
    }
    const length = varintAt(bytes, end);
    if (length < 0 || length > end - at) return false;
    const valueStart = at;
    const valueEnd = at + length;
    if (shape.text && !utf8(bytes, valueStart, valueEnd)) return false;
    if (shape.message && !plain(bytes, valueStart, valueEnd, shape.message)) return false;
    at = valueEnd;
  }
  return true;
}

/**
 * Where plain() reads: a module variable, so the scan allocates nothing per field (BinaryReader's `tag()` makes an array
 * per field, on the hot path of every event).
 */
let at = 0;

/** The varint at `at` (moving past it), or -1 when it runs past `end` or over 10 bytes. */
function varintAt(bytes: Buffer, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10 && at < end; i++) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 0x80;
  }
  return -1;
}

/** Whether bytes[start, end) is UTF-8: ASCII checked here, anything else by Node. */
function utf8(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] >= 0x80) return isUtf8(bytes.subarray(start, end));
  return true;
}
