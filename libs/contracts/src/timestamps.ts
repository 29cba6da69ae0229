/** google.protobuf.Timestamp as ts-proto generates it. */
export interface ProtoTimestamp {
  seconds: number;
  nanos: number;
}

/** A protobuf Timestamp of a Date (ms precision); undefined for none. */
export function toTimestamp(date: Date | null | undefined): ProtoTimestamp | undefined {
  if (!date) return undefined;
  return millisToTimestamp(date.getTime());
}

/** The Date of a protobuf Timestamp (truncated to ms); undefined for none. */
export function fromTimestamp(ts: ProtoTimestamp | null | undefined): Date | undefined {
  if (!ts) return undefined;
  return new Date(timestampToMillis(ts));
}

export function millisToTimestamp(ms: number): ProtoTimestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1e6 };
}

export function timestampToMillis(ts: ProtoTimestamp): number {
  return ts.seconds * 1000 + Math.floor(ts.nanos / 1e6);
}

/** google.protobuf.Duration of ms. */
export function millisToDuration(ms: number): ProtoTimestamp {
  const seconds = Math.trunc(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}
