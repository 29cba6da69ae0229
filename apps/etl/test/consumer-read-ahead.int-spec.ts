import { Topics } from '@pulse/contracts';
import type { IncomingRecord } from '@pulse/platform';
import { eventually } from '@pulse/platform/testing';
import { ActivityType, newRun, testKafka, tracked } from './etl-test-kit';

// The stream's consumer reads and decodes the next batch while the handler works on the current one. What that
// must not change: batches are handed over one at a time in offset order, and a batch read ahead is committed
// only once it has been handled — a consumer closed meanwhile leaves it to the group's next member.
const kafka = testKafka('read-ahead');
afterAll(() => kafka.close());

describe('the consumer reading the next batch ahead', () => {
  it('hands batches over in order, one at a time, and commits none it did not handle', async () => {
    const run = newRun();
    const topic = { ...Topics.activityTracked, name: `pulse.activity.readahead.${run.id}.v1`, partitions: 1 };
    await kafka.admin.ensureTopics([topic]);
    await kafka.producer.send(
      topic,
      Array.from({ length: 30 }, (_, i) => ({ key: 'u1', value: tracked(`e${i}`, 'u1', ActivityType.ACTIVITY_TYPE_VIEW, 1_000 + i) })),
    );
    const groupId = `etl-test-read-ahead-${run.id}`;
    const batches: bigint[][] = [];
    let inHandler = 0;
    let overlapped = false;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = kafka.consumer([topic], { groupId, from: 'earliest', maxBatchSize: 10 });
    const running = first.run(async (records: IncomingRecord<string, unknown>[]) => {
      overlapped ||= inHandler > 0;
      inHandler++;
      batches.push(records.map((r) => r.offset));
      // The second batch is held: the third is read ahead meanwhile.
      if (batches.length === 2) await held;
      inHandler--;
    });
    expect(
      await eventually(
        async () => batches.length,
        (n) => n >= 2,
      ),
    ).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(batches).toHaveLength(2); // the third batch waits for the second, though it is read
    const closing = first.close();
    release();
    await closing;
    await running.catch(() => undefined);
    expect(overlapped).toBe(false);
    expect(batches[0]).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i)));
    expect(batches[1]).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(10 + i)));

    // Only the first batch was committed: the group's next member starts at the second.
    const next: bigint[] = [];
    const second = kafka.consumer([topic], { groupId, from: 'earliest', maxBatchSize: 30 });
    const again = second.run(async (records: IncomingRecord<string, unknown>[]) => void next.push(...records.map((r) => r.offset)));
    await eventually(
      async () => next.length,
      (n) => n >= 20,
    );
    await second.close();
    await again.catch(() => undefined);
    expect(next).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(10 + i)));
    await kafka.admin.deleteTopics([topic.name]);
  });
});
