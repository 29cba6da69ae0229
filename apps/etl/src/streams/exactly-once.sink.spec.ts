import { DeltaTable, LakeEngine, LocalLakeStorage } from '@pulse/lake';
import type { IncomingRecord } from '@pulse/platform';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEAD_LETTERS_INFO, ExactlyOnceDeltaSink, txnAppId } from './exactly-once.sink';

const TOPIC = 'pulse.activity.tracked.v1';

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
    const sink = new ExactlyOnceDeltaSink(t, '', row);
    expect(await sink.write([...records(0, 0, 5), ...records(1, 0, 3)])).toMatchObject({ written: 8, skipped: 0 });
    expect(t.snapshot().txns.get(txnAppId('', TOPIC, 0))?.version).toBe(5);
    // A replay after a crash before Kafka's commit: all skipped, no commit.
    expect(await sink.write(records(0, 0, 5))).toMatchObject({ version: null, written: 0, skipped: 5 });
    // Overlapping: offsets 3..7 of partition 0, 3 already there.
    expect(await sink.write(records(0, 3, 8))).toMatchObject({ written: 3, skipped: 2 });
    expect((await ids(t)).length).toBe(11);
    expect(new Set(await ids(t)).size).toBe(11);
  });

  it('lets two writers race on the same partition without duplicating, and reports a gap', async () => {
    const a = new ExactlyOnceDeltaSink(await table(), '', row);
    const b = new ExactlyOnceDeltaSink(await DeltaTable.open(new LocalLakeStorage(root), 't', { engine }), '', row);
    // A zombie replica and the new owner of the partition both start from the offset the table (and so
    // Kafka, which never runs ahead of it) holds, and commit at once.
    await Promise.all([a.write(records(2, 0, 50)), b.write(records(2, 0, 80))]);
    const t = await DeltaTable.open(new LocalLakeStorage(root), 't', { engine });
    const written = await ids(t);
    expect(written.length).toBe(80);
    expect(new Set(written).size).toBe(80);
    expect(t.snapshot().txns.get(txnAppId('', TOPIC, 2))?.version).toBe(80);
    const gap = await a.write(records(2, 90, 95));
    expect(gap.gaps).toEqual([{ topic: TOPIC, partition: 2, expected: 80n, got: 90n }]);
  });

  it('moves the offsets past dead-lettered records, lists them in the commit, and never twice', async () => {
    const t = await table();
    const sink = new ExactlyOnceDeltaSink(t, '', row);
    const poison = { topic: TOPIC, partition: 0, offset: 3n };
    // Offsets 0..2 and 4 written, 3 on the dead-letter topic: the txn goes to 5, with no gap reported.
    const result = await sink.write([...records(0, 0, 3), ...records(0, 4, 5)], { deadLettered: [poison] });
    expect(result).toMatchObject({ written: 4, gaps: [] });
    expect(t.snapshot().txns.get(txnAppId('', TOPIC, 0))?.version).toBe(5);
    expect((await t.commitInfo(result.version!))?.[DEAD_LETTERS_INFO]).toEqual([`${TOPIC}/0/3`]);
    // A batch of only a dead letter at the end of the partition still moves it on.
    const last = await sink.write([], { deadLettered: [{ topic: TOPIC, partition: 0, offset: 5n }] });
    expect(last.written).toBe(0);
    expect(t.snapshot().txns.get(txnAppId('', TOPIC, 0))?.version).toBe(6);
    // Replayed after a crash: already behind the table, nothing is committed again.
    expect(await sink.write(records(0, 0, 3), { deadLettered: [poison] })).toMatchObject({ version: null });
  });
});
