import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { ingestV1 } from '@pulse/contracts';
import fc from 'fast-check';
import { eventBytesOf, isPlainEvent } from './event-bytes';

const { ActivityType, TargetType } = ingestV1;

function activity(overrides: Partial<ingestV1.ActivityEvent> = {}): ingestV1.ActivityEvent {
  return {
    eventId: 'e-1',
    userId: 'u-1',
    type: ActivityType.ACTIVITY_TYPE_LIKE,
    target: { type: TargetType.TARGET_TYPE_POST, id: 'p-1' },
    occurredAt: { seconds: 1_700_000_000, nanos: 5 },
    sessionId: 's-1',
    properties: { surface: 'feed', position: '3' },
    context: undefined,
    recommendationId: '',
    ...overrides,
  };
}

const encoded = (event: ingestV1.ActivityEvent) => Buffer.from(ingestV1.ActivityEvent.encode(event).finish());
/** The event's bytes followed by more fields written by hand. */
const withExtra = (event: ingestV1.ActivityEvent, extra: (w: BinaryWriter) => BinaryWriter) =>
  Buffer.concat([encoded(event), extra(new BinaryWriter()).finish()]);

describe('eventBytesOf', () => {
  it("finds each event's bytes in a TrackEventsRequest, in order, beside its other fields", () => {
    const events = [activity(), activity({ eventId: 'e-2', properties: {} }), activity({ eventId: 'e-3', context: undefined })];
    const request = Buffer.from(ingestV1.TrackEventsRequest.encode({ events, clientId: 'web', omitAcceptedResults: true }).finish());
    const found = eventBytesOf(request, 3);
    expect(found?.map((b) => b.toString('hex'))).toEqual(events.map((e) => encoded(e).toString('hex')));
  });

  it('gives up (the events are then encoded again) on a count that differs, a cut request or no bytes', () => {
    const request = Buffer.from(
      ingestV1.TrackEventsRequest.encode({ events: [activity()], clientId: '', omitAcceptedResults: false }).finish(),
    );
    expect(eventBytesOf(request, 2)).toBeUndefined();
    expect(eventBytesOf(request.subarray(0, request.length - 3), 1)).toBeUndefined();
    expect(eventBytesOf(undefined, 1)).toBeUndefined();
  });
});

describe('isPlainEvent', () => {
  it('takes the bytes of any event as protobuf writes it', () => {
    expect(isPlainEvent(encoded(activity()))).toBe(true);
    const context = { platform: 1, appVersion: '1.2', userAgent: '', ipAddress: '', locale: 'fr-FR', timeZone: 'Europe/Paris' };
    expect(isPlainEvent(encoded(activity({ context, recommendationId: 'r-1' })))).toBe(true);
    fc.assert(
      fc.property(
        fc.record({
          eventId: fc.string(),
          userId: fc.string({ unit: 'binary' }),
          id: fc.string(),
          seconds: fc.integer(),
          key: fc.string(),
          value: fc.string({ unit: 'binary' }),
        }),
        (r) =>
          isPlainEvent(
            encoded(
              activity({
                eventId: r.eventId,
                userId: r.userId,
                target: { type: 2, id: r.id },
                occurredAt: { seconds: r.seconds, nanos: 0 },
                properties: { [r.key]: r.value },
              }),
            ),
          ),
      ),
    );
  });

  it('refuses what another reader could read differently: unknown fields, a message field twice, text that is not UTF-8, wrong wire types', () => {
    // A field ActivityEvent does not have (a newer client's), at the top or inside a message.
    expect(isPlainEvent(withExtra(activity(), (w) => w.uint32((15 << 3) | 0).uint32(1)))).toBe(false);
    expect(
      isPlainEvent(
        withExtra(activity({ target: undefined }), (w) =>
          w
            .uint32((4 << 3) | 2)
            .fork()
            .uint32((3 << 3) | 0)
            .uint32(7)
            .join(),
        ),
      ),
    ).toBe(false);
    // target given twice: merged by some readers, replaced by others.
    expect(
      isPlainEvent(
        withExtra(activity(), (w) =>
          w
            .uint32((4 << 3) | 2)
            .fork()
            .uint32((2 << 3) | 2)
            .string('p-2')
            .join(),
        ),
      ),
    ).toBe(false);
    // user_id twice: one reader keeps the last, the validation saw the last too, but only once is plain.
    expect(isPlainEvent(withExtra(activity(), (w) => w.uint32((2 << 3) | 2).string('u-2')))).toBe(false);
    // A properties entry more is fine: a map is repeated.
    expect(
      isPlainEvent(
        withExtra(activity(), (w) =>
          w
            .uint32((7 << 3) | 2)
            .fork()
            .uint32(10)
            .string('k')
            .uint32(18)
            .string('v')
            .join(),
        ),
      ),
    ).toBe(true);
    // user_id holding bytes that are not UTF-8.
    expect(isPlainEvent(withExtra(activity({ userId: '' }), (w) => w.uint32((2 << 3) | 2).bytes(Uint8Array.of(0xc3, 0x28))))).toBe(false);
    // type as a length-delimited field.
    expect(isPlainEvent(withExtra(activity({ type: 0 }), (w) => w.uint32((3 << 3) | 2).bytes(Uint8Array.of(1))))).toBe(false);
    // Cut short.
    const bytes = encoded(activity());
    expect(isPlainEvent(bytes.subarray(0, bytes.length - 1))).toBe(false);
  });
});
