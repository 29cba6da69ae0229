import { DeltaTable, LakeEngine, LocalLakeStorage } from '@pulse/lake';
import type { IncomingRecord } from '@pulse/platform';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  committedOffsets,
  DEAD_LETTERS_INFO,
  DUPLICATES_INFO,
  ExactlyOnceDeltaSink,
  type KeyDedupe,
  type StreamSource,
  streamProgress,
  txnAppId,
} from './exactly-once.sink';

const TOPIC = 'pulse.activity.tracked.v1';
/** The Kafka cluster the stream reads, and the mirrored cluster of another region it fails over to. */
const A: StreamSource = { clusterId: async () => 'cluster-a' };
const B: StreamSource = { clusterId: async () => 'cluster-b' };

function records(partition: number, from: number, to: number): IncomingRecord<string, string>[] {
  return Array.from({ length: to - from }, (_, i) => ({
    topic: TOPIC,
    partition,
    offset: BigInt(from + i),
    timestampMs: 0,
    key: 'k',
    value: `p${partition}-o${from + i}`,
    headers: {},
  }));
}

describe('ExactlyOnceDeltaSink', () => {
  let root: string;
  let engine: LakeEngine;
  beforeAll(async () => {
    engine = await LakeEngine.create({ threads: 1 });
  });
  afterAll(() => engine.close());
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sink-spec-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  async function table() {
    return DeltaTable.create(
      new LocalLakeStorage(root),
      't',
      {
        columns: [
          { name: 'id', type: 'string' },
          { name: 'partition', type: 'integer' },
        ],
      },
      { engine },
    );
  }
  const row = (r: IncomingRecord<string, string>) => [r.value, r.partition];
  const ids = async (t: DeltaTable) =>
    (await engine.query<{ id: string }>(`SELECT id FROM ${await t.scanSql(await t.refresh())} ORDER BY id`)).map((r) => r.id);

  it('writes each offset once: a replayed or overlapping batch only adds what the table lacks', async () => {
    const t = await table();
    const sink = new ExactlyOnceDeltaSink(t, '', A, row);
    expect(await sink.write([...records(0, 0, 5), ...records(1, 0, 3)])).toMatchObject({ written: 8, skipped: 0 });
    expect(t.snapshot().txns.get(txnAppId('', TOPIC, 0, 'cluster-a'))?.version).toBe(5);
    // A replay after a crash before Kafka's commit: all skipped, no commit.
    expect(await sink.write(records(0, 0, 5))).toMatchObject({ version: null, written: 0, skipped: 5 });
    // Overlapping: offsets 3..7 of partition 0, 3 already there.
    expect(await sink.write(records(0, 3, 8))).toMatchObject({ written: 3, skipped: 2 });
    expect((await ids(t)).length).toBe(11);
    expect(new Set(await ids(t)).size).toBe(11);
  });

  it('writes a record the consumer handed twice in one batch once', async () => {
    const t = await table();
    const sink = new ExactlyOnceDeltaSink(t, '', A, row);
    // offset 1 of partition 0 twice in a row, as a repeated fetch hands it
    const [r0, r1, r2] = records(0, 0, 3);
    expect(await sink.write([r0, r1, r1, r2])).toMatchObject({ written: 3, skipped: 1 });
    expect(await ids(t)).toEqual(['p0-o0', 'p0-o1', 'p0-o2']);
  });

  describe('with event ids (KeyDedupe)', () => {
    // Records whose value is an event id; a copy of an event is the same value at a later offset of its partition.
    const events = (partition: number, from: number, values: string[]): IncomingRecord<string, string>[] =>
      values.map((value, i) => ({ topic: TOPIC, partition, offset: BigInt(from + i), timestampMs: 0, key: 'k', value, headers: {} }));
    const dedupe = (t: DeltaTable, window = 100): KeyDedupe<string, string> => ({
      key: (r) => r.value,
      window,
      load: async (_topic, ranges) => {
        const out = new Map<number, { key: string; offset: bigint }[]>();
        for (const [partition, { from, to }] of ranges) {
          const sql = `SELECT id, offset_ FROM ${await t.scanSql()} WHERE partition = ${partition} AND offset_ >= ${from} AND offset_ < ${to}`;
          out.set(
            partition,
            (await engine.query<{ id: string; offset_: number }>(sql)).map((r) => ({ key: r.id, offset: BigInt(r.offset_) })),
          );
        }
        return out;
      },
    });
    async function eventTable() {
      return DeltaTable.create(
        new LocalLakeStorage(root),
        'events',
        {
          columns: [
            { name: 'id', type: 'string' },
            { name: 'partition', type: 'integer' },
            { name: 'offset_', type: 'long' },
          ],
        },
        { engine },
      );
    }
    const eventRow = (r: IncomingRecord<string, string>) => [r.value, r.partition, r.offset];

    it('writes a copy of an event (a later offset, the same id) once, in one batch and across batches', async () => {
      const t = await eventTable();
      const sink = new ExactlyOnceDeltaSink(t, '', A, eventRow, dedupe(t));
      expect(await sink.write(events(0, 0, ['a', 'b', 'a', 'c']))).toMatchObject({ written: 3, duplicates: 1 });
      expect(await sink.write(events(0, 4, ['b', 'd']))).toMatchObject({ written: 1, duplicates: 1 });
      // The same id in another partition is another event (ids are unique per producer key, kept in one partition).
      expect(await sink.write(events(1, 0, ['a']))).toMatchObject({ written: 1, duplicates: 0 });
      expect(await ids(t)).toEqual(['a', 'a', 'b', 'c', 'd']);
      expect((await t.commitInfo(t.version))?.[DUPLICATES_INFO]).toBeUndefined();
      expect((await t.commitInfo(2))?.[DUPLICATES_INFO]).toBe(1);
      // The offsets moved past the copies: a replay writes nothing.
      expect(t.snapshot().txns.get(txnAppId('', TOPIC, 0, 'cluster-a'))?.version).toBe(6);
    });

    it('remembers the ids a restarted writer finds in the table, and loses nothing when a batch is replayed', async () => {
      const t = await eventTable();
      await new ExactlyOnceDeltaSink(t, '', A, eventRow, dedupe(t)).write(events(0, 0, ['a', 'b']));
      // A new process (after a crash): its window starts from the table.
      const restarted = new ExactlyOnceDeltaSink(t, '', A, eventRow, dedupe(t));
      expect(await restarted.write(events(0, 2, ['a', 'c']))).toMatchObject({ written: 1, duplicates: 1 });
      // The batch after it replayed (Kafka's commit was lost): its own records are not copies of themselves.
      const replayed = new ExactlyOnceDeltaSink(t, '', A, eventRow, dedupe(t));
      expect(await replayed.write(events(0, 2, ['a', 'c', 'e']))).toMatchObject({ written: 1, skipped: 2, duplicates: 0 });
      expect(await ids(t)).toEqual(['a', 'b', 'c', 'e']);
    });

    it('looks only `window` records back: an older copy is written again', async () => {
      const t = await eventTable();
      const sink = new ExactlyOnceDeltaSink(t, '', A, eventRow, dedupe(t, 2));
      await sink.write(events(0, 0, ['a', 'b', 'c']));
      expect(await sink.write(events(0, 3, ['c', 'a']))).toMatchObject({ written: 1, duplicates: 1 });
    });

    it('after a failover to a mirrored cluster, writes its records from the start and drops the copies of what the table holds', async () => {
      const t = await eventTable();
      await new ExactlyOnceDeltaSink(t, '', A, eventRow, dedupe(t)).write(events(0, 100, ['a', 'b', 'c']));
      // Cluster B has the same records at other (lower) offsets; its group resumes a little before where A was
      // (MirrorMaker's translated offset), so `b` and `c` come again, then the new `d`.
      const onB = new ExactlyOnceDeltaSink(t, '', B, eventRow, dedupe(t));
      expect(await onB.write(events(0, 5, ['b', 'c', 'd']))).toMatchObject({ written: 1, skipped: 0, duplicates: 2 });
      expect(await ids(t)).toEqual(['a', 'b', 'c', 'd']);
      // B's progress is its own: offsets below A's are not dropped, and a replay on B is.
      expect(committedOffsets(t.snapshot(), '', TOPIC, 'cluster-b')).toEqual(new Map([[0, 8n]]));
      expect(committedOffsets(t.snapshot(), '', TOPIC, 'cluster-a')).toEqual(new Map([[0, 103n]]));
      expect(await onB.write(events(0, 5, ['b', 'c', 'd']))).toMatchObject({ version: null, skipped: 3 });
    });

    it('reloads its window when another writer moved the partition on meanwhile', async () => {
      const t = await eventTable();
      const a = new ExactlyOnceDeltaSink(t, '', A, eventRow, dedupe(t));
      await a.write(events(0, 0, ['a']));
      // The partition went to another replica for a while, which wrote `b`...
      const other = await DeltaTable.open(new LocalLakeStorage(root), 'events', { engine });
      await new ExactlyOnceDeltaSink(other, '', A, eventRow, dedupe(other)).write(events(0, 1, ['b']));
      // ...and came back: the copy of `b` is found although this writer never saw it.
      expect(await a.write(events(0, 2, ['b', 'c']))).toMatchObject({ written: 1, duplicates: 1 });
    });
  });

  describe('progress per cluster', () => {
    const txns = (entries: [string, number][]) =>
      ({ txns: new Map(entries.map(([appId, version]) => [appId, { appId, version }])) }) as unknown as Parameters<
        typeof streamProgress
      >[0];

    it("takes a table written before progress named its cluster as the cluster's, then keeps the cluster's own", async () => {
      const legacy = txns([
        [`etl:${TOPIC}:0`, 7],
        [`etl:${TOPIC}:1`, 3],
      ]);
      expect(streamProgress(legacy, '', TOPIC, 'cluster-a')).toEqual({
        offsets: new Map([
          [0, 7n],
          [1, 3n],
        ]),
        previous: new Map(),
      });
      // A table an older etl wrote: offsets 0..3 of partition 0 under the app id without a cluster.
      const t = await table();
      const older = records(0, 0, 4).map((r) => ({ id: r.value, partition: r.partition }));
      await t.append(older, { txns: [{ appId: `etl:${TOPIC}:0`, version: 4 }] });
      const sink = new ExactlyOnceDeltaSink(t, '', A, row);
      // It goes on from there (0..3 dropped as replays), and keeps its progress under the cluster's app id from then on.
      expect(await sink.write(records(0, 0, 6))).toMatchObject({ written: 2, skipped: 4 });
      expect(t.snapshot().txns.get(txnAppId('', TOPIC, 0, 'cluster-a'))?.version).toBe(6);
      expect(await sink.write(records(0, 4, 8))).toMatchObject({ written: 2, skipped: 2 });
      expect(new Set(await ids(t)).size).toBe(8);
    });

    it('gives a cluster the table has not read no offsets, and where the table was on the others', () => {
      const both = txns([
        [`etl:${TOPIC}:0`, 7],
        [`etl:${TOPIC}@cluster-a:0`, 9],
        [`etl:${TOPIC}@cluster-a:1`, 4],
        [`etl:other.topic@cluster-b:0`, 1],
      ]);
      expect(streamProgress(both, '', TOPIC, 'cluster-a').offsets).toEqual(
        new Map([
          [0, 9n],
          [1, 4n],
        ]),
      );
      expect(streamProgress(both, '', TOPIC, 'cluster-b')).toEqual({
        offsets: new Map(),
        previous: new Map([
          [0, 9n],
          [1, 4n],
        ]),
      });
      // another stream's progress on the same topic is not this one's
      expect(streamProgress(txns([[`etl:agg_x:${TOPIC}@cluster-a:0`, 5]]), '', TOPIC, 'cluster-a').offsets.size).toBe(0);
    });
  });

  it('lets two writers race on the same partition without duplicating, and reports a gap', async () => {
    const a = new ExactlyOnceDeltaSink(await table(), '', A, row);
    const b = new ExactlyOnceDeltaSink(await DeltaTable.open(new LocalLakeStorage(root), 't', { engine }), '', A, row);
    // A zombie replica and the new owner of the partition both start from the offset the table (and so
    // Kafka, which never runs ahead of it) holds, and commit at once.
    await Promise.all([a.write(records(2, 0, 50)), b.write(records(2, 0, 80))]);
    const t = await DeltaTable.open(new LocalLakeStorage(root), 't', { engine });
    const written = await ids(t);
    expect(written.length).toBe(80);
    expect(new Set(written).size).toBe(80);
    expect(t.snapshot().txns.get(txnAppId('', TOPIC, 2, 'cluster-a'))?.version).toBe(80);
    const gap = await a.write(records(2, 90, 95));
    expect(gap.gaps).toEqual([{ topic: TOPIC, partition: 2, expected: 80n, got: 90n }]);
  });

  it('moves the offsets past dead-lettered records, lists them in the commit, and never twice', async () => {
    const t = await table();
    const sink = new ExactlyOnceDeltaSink(t, '', A, row);
    const poison = { topic: TOPIC, partition: 0, offset: 3n };
    // Offsets 0..2 and 4 written, 3 on the dead-letter topic: the txn goes to 5, with no gap reported.
    const result = await sink.write([...records(0, 0, 3), ...records(0, 4, 5)], { deadLettered: [poison] });
    expect(result).toMatchObject({ written: 4, gaps: [] });
    expect(t.snapshot().txns.get(txnAppId('', TOPIC, 0, 'cluster-a'))?.version).toBe(5);
    expect((await t.commitInfo(result.version!))?.[DEAD_LETTERS_INFO]).toEqual([`${TOPIC}/0/3`]);
    // A batch of only a dead letter at the end of the partition still moves it on.
    const last = await sink.write([], { deadLettered: [{ topic: TOPIC, partition: 0, offset: 5n }] });
    expect(last.written).toBe(0);
    expect(t.snapshot().txns.get(txnAppId('', TOPIC, 0, 'cluster-a'))?.version).toBe(6);
    // Replayed after a crash: already behind the table, nothing is committed again.
    expect(await sink.write(records(0, 0, 3), { deadLettered: [poison] })).toMatchObject({ version: null });
  });
});
