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

/** The range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z. */
export const TIMESTAMP_MIN_SECONDS = -62_135_596_800;
export const TIMESTAMP_MAX_SECONDS = 253_402_300_799;

/** Whether a Timestamp is one the protobuf spec allows: whole seconds in its range, nanos 0 to 999,999,999. */
export function isValidTimestamp(ts: ProtoTimestamp): boolean {
  return (
    Number.isInteger(ts.seconds) &&
    ts.seconds >= TIMESTAMP_MIN_SECONDS &&
    ts.seconds <= TIMESTAMP_MAX_SECONDS &&
    Number.isInteger(ts.nanos) &&
    ts.nanos >= 0 &&
    ts.nanos <= 999_999_999
  );
}

/** google.protobuf.Duration of ms. */
export function millisToDuration(ms: number): ProtoTimestamp {
  const seconds = Math.trunc(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}
