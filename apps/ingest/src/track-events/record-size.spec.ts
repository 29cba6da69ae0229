import { ingestV1 } from '@pulse/contracts';
import { createHash } from 'node:crypto';
import { cutDown, largestField, trackedRecordBytes } from './record-size';

function activity(properties: Record<string, string>, overrides: Partial<ingestV1.ActivityEvent> = {}): ingestV1.ActivityEvent {
  return {
    eventId: 'e-1',
    userId: 'u-1',
    type: ingestV1.ActivityType.ACTIVITY_TYPE_VIEW,
    target: { type: ingestV1.TargetType.TARGET_TYPE_POST, id: 'p-1' },
    occurredAt: { seconds: 1_700_000_000, nanos: 0 },
    sessionId: 's-1',
    properties,
    context: undefined,
    recommendationId: '',
    ...overrides,
  };
}

describe('record sizes', () => {
  it('names the one property that makes an event large, or the properties when many small ones do', () => {
    expect(largestField(activity({ small: 'a', blob: 'x'.repeat(5000) }))).toBe('properties.blob');
    const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, 'v'.repeat(100)]));
    expect(largestField(activity(many))).toBe('properties');
    expect(largestField(activity({}, { sessionId: 's'.repeat(900) }))).toBe('session_id');
  });

  it('cuts an event down to fit a dead letter, with the SHA-256 and size of the original', () => {
    const original = activity({ blob: 'x'.repeat(3_000_000), keep: 'short' });
    const { event, originalSha256, originalSizeBytes } = cutDown(original);
    const bytes = ingestV1.ActivityEvent.encode(original).finish();
    expect(originalSizeBytes).toBe(bytes.length);
    expect(originalSha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(event.properties).toEqual({ blob: 'x'.repeat(256), keep: 'short' });
    expect(event).toMatchObject({ eventId: 'e-1', userId: 'u-1', target: original.target, occurredAt: original.occurredAt });
    expect(ingestV1.ActivityEvent.encode(event).finish().length).toBeLessThan(1024);
  });

  it.each([1, 200, 20_000, 2_100_000])(
    'frames an event encoded once into the same bytes as encoding the whole ActivityTracked (a property of %d characters)',
    (size) => {
      const event = activity({ position: 'x'.repeat(size) });
      const rest = {
        receivedAt: { seconds: 1_700_000_001, nanos: 5 },
        ingest: { schemaVersion: 1, sourceIp: '::1', clientId: 'web', requestId: 'r-1' },
      };
      const framed = trackedRecordBytes(
        ingestV1.ActivityEvent.encode(event).finish(),
        ingestV1.ActivityTracked.encode({ event: undefined, ...rest }).finish(),
      );
      // Lengths of 1 to 4 varint bytes; compared as buffers (a matcher's diff of megabytes takes seconds).
      expect(framed.equals(Buffer.from(ingestV1.ActivityTracked.encode({ event, ...rest }).finish()))).toBe(true);
      expect(ingestV1.ActivityTracked.decode(framed).event?.properties['position']).toHaveLength(size);
    },
  );
});
