import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { ingestV1, timestampToMillis } from '@pulse/contracts';
import { utcDate } from '@pulse/lake';
import type { IncomingRecord } from '@pulse/platform';
import fc from 'fast-check';
import { readActivityColumns } from './activity-columns';
import { activityBronzeTable, activityTypeName, targetTypeName } from './bronze-tables';

const table = activityBronzeTable(1, 10);

function record<V>(value: V): IncomingRecord<string, V> {
  return { topic: 't', partition: 3, offset: 42n, timestampMs: 1_717_200_000_000, key: 'u', value, headers: {} };
}

/** The row of a record as ts-proto decodes it: what bronze/activity wrote before reading the bytes itself. */
function rowOfMessage(bytes: Uint8Array): unknown[] | null {
  const tracked = ingestV1.ActivityTracked.decode(bytes);
  const e = tracked.event;
  if (!e) return null;
  const r = record(tracked);
  const occurred = e.occurredAt ? timestampToMillis(e.occurredAt) : r.timestampMs;
  return [
    e.eventId,
    e.userId,
    activityTypeName(e.type),
    e.target ? targetTypeName(e.target.type) : null,
    e.target?.id ?? null,
    occurred,
    tracked.receivedAt ? timestampToMillis(tracked.receivedAt) : null,
    e.sessionId || null,
    e.recommendationId || null,
    e.properties,
    e.context ? (ingestV1.Platform[e.context.platform]?.slice('PLATFORM_'.length) ?? String(e.context.platform)) : null,
    e.context?.appVersion || null,
    tracked.ingest?.clientId || null,
    r.partition,
    r.offset,
    r.timestampMs,
    utcDate(occurred),
  ];
}

/** What reading the bytes gives: the row, or the error. */
function outcome(read: () => unknown): { row: unknown } | { error: true } {
  try {
    return { row: read() };
  } catch {
    return { error: true };
  }
}

const timestamp = fc.option(
  fc.record({ seconds: fc.integer({ min: -62_135_596_800, max: 253_402_300_799 }), nanos: fc.integer({ min: 0, max: 999_999_999 }) }),
  { nil: undefined },
);
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', '\u0000', 'ü🎉', 'x'.repeat(300)));
const tracked: fc.Arbitrary<ingestV1.ActivityTracked> = fc.record({
  event: fc.option(
    fc.record({
      eventId: text,
      userId: text,
      type: fc.integer({ min: -1, max: 20 }),
      target: fc.option(fc.record({ type: fc.integer({ min: 0, max: 5 }), id: text }), { nil: undefined }),
      occurredAt: timestamp,
      sessionId: text,
      properties: fc.dictionary(text, text, { maxKeys: 4 }),
      context: fc.option(fc.record({ platform: fc.integer({ min: 0, max: 6 }), appVersion: text, userAgent: text, ipAddress: text }), {
        nil: undefined,
      }),
      recommendationId: text,
    }),
    { nil: undefined },
  ),
  receivedAt: timestamp,
  ingest: fc.option(fc.record({ schemaVersion: fc.nat(), sourceIp: text, clientId: text, requestId: text }), { nil: undefined }),
}) as fc.Arbitrary<ingestV1.ActivityTracked>;

describe('readActivityColumns', () => {
  it('gives every message the row its ts-proto decoding gives', () => {
    fc.assert(
      fc.property(tracked, (message) => {
        const bytes = ingestV1.ActivityTracked.encode(message).finish();
        expect(table.row(record(readActivityColumns(bytes)))).toEqual(rowOfMessage(bytes));
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads what ts-proto reads, and fails where it fails, on bytes changed, cut, repeated or unknown', () => {
    const bytesOf = tracked.map((m) => ingestV1.ActivityTracked.encode(m).finish());
    const damaged = fc.oneof(
      fc.tuple(bytesOf, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, at, v]) => {
        const out = Uint8Array.from(b);
        if (out.length > 0) out[at % out.length] = v;
        return out;
      }),
      fc.tuple(bytesOf, fc.nat()).map(([b, n]) => b.slice(0, b.length === 0 ? 0 : n % b.length)),
      fc.tuple(bytesOf, bytesOf).map(([a, b]) => Uint8Array.from([...a, ...b])),
      fc.uint8Array({ maxLength: 64 }),
      bytesOf.map((b) => {
        // unknown fields of every wire type, a second event (it replaces the first) and a huge timestamp
        const w = new BinaryWriter();
        w.tag(9, 0)
          .uint64(7n)
          .tag(10, 1)
          .fixed64(1n)
          .tag(11, 2)
          .bytes(new Uint8Array([1, 2]))
          .tag(12, 5)
          .fixed32(3);
        w.tag(1, 2).bytes(new BinaryWriter().tag(1, 2).string('again').tag(2, 2).string('u2').finish());
        w.tag(2, 2).bytes(
          new BinaryWriter()
            .tag(1, 0)
            .int64(2n ** 60n)
            .finish(),
        );
        return Uint8Array.from([...b, ...w.finish()]);
      }),
    );
    fc.assert(
      fc.property(damaged, (bytes) => {
        const expected = outcome(() => rowOfMessage(bytes));
        const got = outcome(() => table.row(record(readActivityColumns(bytes))));
        expect(got).toEqual(expected);
      }),
      { numRuns: 3_000 },
    );
  });
});
