import { BinaryReader } from '@bufbuild/protobuf/wire';
import { type Codec, type TopicDefinition } from '@pulse/contracts';

/**
 * What bronze/activity keeps of a `pulse.ingest.v1.ActivityTracked`, read straight from its bytes: the fields of its
 * row, without the message objects ts-proto builds (an event, its target, context, timestamps, ingest metadata:
 * eight objects a record, most of them garbage right away). Enums stay numbers; a message absent is null.
 */
export interface ActivityColumns {
  /** Whether the record has an `event` (a record without one has no row). */
  hasEvent: boolean;
  eventId: string;
  userId: string;
  type: number;
  /** The target's type, null without a target. */
  targetType: number | null;
  targetId: string | null;
  occurredMs: number | null;
  receivedMs: number | null;
  sessionId: string;
  recommendationId: string;
  properties: Record<string, string>;
  /** The context's platform, null without a context. */
  platform: number | null;
  appVersion: string | null;
  clientId: string | null;
}

/**
 * Reads the columns of an ActivityTracked as ts-proto's decode would read the message (the same wire rules: the last
 * of a repeated singular field wins, a repeated message field replaces the earlier one, unknown fields are skipped,
 * timestamps beyond ±2^53 ms are refused), so a record that decodes one way decodes the other, and the bad ones fail
 * both ways (and go to the dead-letter topic).
 */
export function readActivityColumns(bytes: Uint8Array): ActivityColumns {
  const reader = new BinaryReader(bytes);
  const out: ActivityColumns = {
    hasEvent: false,
    eventId: '',
    userId: '',
    type: 0,
    targetType: null,
    targetId: null,
    occurredMs: null,
    receivedMs: null,
    sessionId: '',
    recommendationId: '',
    properties: {},
    platform: null,
    appVersion: null,
    clientId: null,
  };
  const end = reader.len;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 10) {
      readEvent(reader, reader.uint32(), out);
      continue;
    }
    if (tag === 18) {
      out.receivedMs = readTimestampMs(reader, reader.uint32());
      continue;
    }
    if (tag === 26) {
      out.clientId = readClientId(reader, reader.uint32());
      continue;
    }
    if (!skip(reader, tag)) break;
  }
  return out;
}

function readEvent(reader: BinaryReader, length: number, out: ActivityColumns): void {
  // A second `event` replaces the first (ts-proto assigns the message anew).
  out.hasEvent = true;
  out.eventId = '';
  out.userId = '';
  out.type = 0;
  out.targetType = null;
  out.targetId = null;
  out.occurredMs = null;
  out.sessionId = '';
  out.recommendationId = '';
  out.properties = {};
  out.platform = null;
  out.appVersion = null;
  const end = reader.pos + length;
  while (reader.pos < end) {
    const tag = reader.uint32();
    switch (tag) {
      case 10:
        out.eventId = reader.string();
        continue;
      case 18:
        out.userId = reader.string();
        continue;
      case 24:
        out.type = reader.int32();
        continue;
      case 34: {
        const targetEnd = reader.uint32() + reader.pos;
        let type = 0;
        let id = '';
        while (reader.pos < targetEnd) {
          const t = reader.uint32();
          if (t === 8) type = reader.int32();
          else if (t === 18) id = reader.string();
          else if (!skip(reader, t)) break;
        }
        out.targetType = type;
        out.targetId = id;
        continue;
      }
      case 42:
        out.occurredMs = readTimestampMs(reader, reader.uint32());
        continue;
      case 50:
        out.sessionId = reader.string();
        continue;
      case 58: {
        const entryEnd = reader.uint32() + reader.pos;
        let key = '';
        let value = '';
        while (reader.pos < entryEnd) {
          const t = reader.uint32();
          if (t === 10) key = reader.string();
          else if (t === 18) value = reader.string();
          else if (!skip(reader, t)) break;
        }
        out.properties[key] = value;
        continue;
      }
      case 66: {
        const contextEnd = reader.uint32() + reader.pos;
        let platform = 0;
        let appVersion = '';
        while (reader.pos < contextEnd) {
          const t = reader.uint32();
          if (t === 8) platform = reader.int32();
          else if (t === 18) appVersion = reader.string();
          else if (!skip(reader, t)) break;
        }
        out.platform = platform;
        out.appVersion = appVersion;
        continue;
      }
      case 74:
        out.recommendationId = reader.string();
        continue;
    }
    if (!skip(reader, tag)) break;
  }
}

/** ms of a google.protobuf.Timestamp (as `timestampToMillis`), refusing seconds beyond what a number holds exactly. */
function readTimestampMs(reader: BinaryReader, length: number): number {
  const end = reader.pos + length;
  let seconds = 0;
  let nanos = 0;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 8) {
      const value = reader.int64();
      seconds = Number(value);
      if (!Number.isSafeInteger(seconds)) throw new Error('Value is beyond Number.MAX_SAFE_INTEGER');
    } else if (tag === 16) nanos = reader.int32();
    else if (!skip(reader, tag)) break;
  }
  return seconds * 1000 + Math.floor(nanos / 1e6);
}

/** `client_id` of the IngestMetadata (field 3); its other fields are skipped. */
function readClientId(reader: BinaryReader, length: number): string {
  const end = reader.pos + length;
  let clientId = '';
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 26) clientId = reader.string();
    else if (!skip(reader, tag)) break;
  }
  return clientId;
}

/**
 * Skips an unknown field as ts-proto does; false at an end-group or zero tag, where ts-proto stops reading the
 * message (and its parent goes on from there).
 */
function skip(reader: BinaryReader, tag: number): boolean {
  if ((tag & 7) === 4 || tag === 0) return false;
  reader.skip(tag & 7);
  return true;
}

const activityColumnsCodec: Codec<ActivityColumns> = {
  contentType: 'application/x-protobuf; messageType=pulse.ingest.v1.ActivityTracked',
  encode() {
    throw new Error('the activity columns codec only decodes');
  },
  decode: (bytes) => readActivityColumns(bytes),
};

/** The activity topic as bronze/activity reads it: its records' values decoded straight into their columns. */
export function activityColumnsTopic(topic: TopicDefinition<string, unknown>): TopicDefinition<string, ActivityColumns> {
  return { ...topic, value: activityColumnsCodec };
}
