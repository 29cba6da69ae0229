import { bytesCodec, deadLetterTopic, defineTopic } from '@pulse/contracts';
import { DeadLetterHeaders, positionId, readDeadLetter, readTopicToEnd } from '@pulse/platform';
import { startService } from '@pulse/platform/testing';
import { rm } from 'node:fs/promises';
import { DEAD_LETTERS_INFO } from '../src/streams/exactly-once.sink';
import { StreamRegistry } from '../src/streams/stream-registry';
import {
  bronzeCounts,
  bronzeTable,
  bronzeTxnOffsets,
  type EtlRun,
  newRun,
  produce,
  startEtl,
  testKafka,
  viewEvents,
  waitFor,
} from './etl-test-kit';

const kafka = testKafka('dead-letters');
const runs: EtlRun[] = [];
const deadLetterTopics: string[] = [];
// Bytes that are no ActivityTracked: field 1 with wire type 7, which protobuf does not have.
const POISON = Buffer.from([0x0f, 0x01]);

afterAll(async () => {
  await kafka.admin.deleteTopics([...runs.map((r) => r.activityTopic.name), ...deadLetterTopics]).catch(() => undefined);
  await kafka.close();
  for (const run of runs) await rm(run.lakeRoot, { recursive: true, force: true });
});

/** The source positions the bronze table's commits moved past without a row (their `pulseDeadLetters`). */
async function skippedByTable(run: EtlRun): Promise<string[]> {
  const table = await bronzeTable(run);
  const listed: string[] = [];
  for (let v = table.snapshot().version; v >= 0; v--)
    listed.push(...(((await table.commitInfo(v))?.[DEAD_LETTERS_INFO] as string[]) ?? []));
  return listed;
}

async function producePoison(run: EtlRun, keys: string[]) {
  const raw = defineTopic({ ...run.activityTopic, key: bytesCodec, value: bytesCodec });
  await kafka.producer.send(
    raw,
    keys.map((key) => ({ key: Buffer.from(key), value: POISON })),
  );
}

async function endOffsetSum(run: EtlRun): Promise<number> {
  return (await kafka.admin.endOffsets(run.activityTopic.name)).reduce((s, o) => s + Number(o), 0);
}

describe('etl streams and poison records', () => {
  it('dead-letters a record it cannot decode in every stream, and commits past it with the records around it, once', async () => {
    const run = newRun();
    runs.push(run);
    await kafka.admin.ensureTopics([run.activityTopic]);
    await produce(kafka, run, viewEvents(run, 0, 100));
    await producePoison(run, ['u7']);
    await produce(kafka, run, viewEvents(run, 100, 100));

    const etl = await startEtl(run);
    try {
      // Every stream that reads the activity topic (the served lists have a topic of their own).
      const groups = etl.running.app
        .get(StreamRegistry)
        .all()
        .filter((s) => s.topics.some((t) => t.name === run.activityTopic.name))
        .map((s) => `${run.env.ETL_GROUP_PREFIX}${s.name}`);
      expect(groups.length).toBeGreaterThan(1); // bronze and the aggregates, each its own group
      deadLetterTopics.push(...groups.map((g) => deadLetterTopic(g).name));
      await waitFor(
        () => bronzeCounts(run),
        (c) => c.rows >= 200,
      );
      const ends = await endOffsetSum(run);
      await waitFor(
        () => bronzeTxnOffsets(run),
        (sum) => sum === ends,
      );
      expect(await bronzeCounts(run)).toEqual({ rows: 200, distinct: 200 });

      for (const group of groups) {
        const letters = await waitFor(
          () => readTopicToEnd(kafka, deadLetterTopic(group)).catch(() => []),
          (l) => l.length >= 1,
        );
        expect(letters).toHaveLength(1);
        expect(letters[0].value).toEqual(POISON);
        expect(letters[0].key).toEqual(Buffer.from('u7'));
        expect(letters[0].headers).toMatchObject({
          [DeadLetterHeaders.topic]: run.activityTopic.name,
          [DeadLetterHeaders.group]: group,
          [DeadLetterHeaders.stage]: 'decode',
          [DeadLetterHeaders.exceptionClass]: 'DecodeError',
        });
      }

      // The bronze table says which record it moved past without a row.
      const listed = await skippedByTable(run);
      const letter = readDeadLetter((await readTopicToEnd(kafka, deadLetterTopic(groups.find((g) => g.endsWith('activity_bronze'))!)))[0])!;
      expect(listed).toEqual([positionId(letter)]);

      const ready = await fetch(`${etl.running.httpUrl}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await (await fetch(`${etl.running.httpUrl}/metrics`)).text()).toMatch(
        /kafka_consumer_dead_letters_total\{group="[^"]*activity_bronze",reason="decode"[^}]*\} 1/,
      );
    } finally {
      await etl.close();
    }
  });

  it('loses no record and writes none twice across a kill -9 while poison records are dead-lettered', async () => {
    const run = newRun();
    runs.push(run);
    await kafka.admin.ensureTopics([run.activityTopic]);
    const chunks = 12;
    const perChunk = 2500;
    for (let c = 0; c < chunks; c++) {
      await produce(kafka, run, viewEvents(run, c * perChunk, perChunk));
      await producePoison(run, [`u${c}`, `u${c + 20}`]);
    }
    const total = chunks * perChunk;
    const env = { ...run.env, ETL_AGGREGATE_STREAMS: 'false', ETL_MAX_BATCH_RECORDS: '250', ETL_TRIGGER_INTERVAL: '50ms' };
    const group = `${run.env.ETL_GROUP_PREFIX}activity_bronze`;
    deadLetterTopics.push(deadLetterTopic(group).name);

    const first = await startService('etl', env);
    await waitFor(
      () => bronzeCounts(run),
      (c) => c.rows >= 3000,
      60_000,
    );
    await first.kill('SIGKILL');
    expect((await bronzeCounts(run)).rows).toBeLessThan(total);

    const second = await startService('etl', env);
    try {
      await waitFor(
        () => bronzeCounts(run),
        (c) => c.rows >= total,
        120_000,
      );
      const ends = await endOffsetSum(run);
      await waitFor(
        () => bronzeTxnOffsets(run),
        (sum) => sum === ends,
      );
      await new Promise((r) => setTimeout(r, 1000));
      expect(await bronzeCounts(run)).toEqual({ rows: total, distinct: total });
      // Every poison record is on the dead-letter topic; a copy written twice (a kill between the dead letter
      // and the commit past it) has the same source position, and the table lists each once.
      const letters = (await readTopicToEnd(kafka, deadLetterTopic(group))).map((r) => readDeadLetter(r)!);
      expect(new Set(letters.map(positionId)).size).toBe(2 * chunks);
      expect(letters.every((l) => l.topic === run.activityTopic.name)).toBe(true);
      const listed = await skippedByTable(run);
      expect(listed.sort()).toEqual([...new Set(letters.map(positionId))].sort());
    } finally {
      await second.stop();
    }
  });
});
