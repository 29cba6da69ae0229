import { DeltaTable, LakeEngine, LocalLakeStorage } from '@pulse/lake';
import type { IncomingRecord } from '@pulse/platform';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExactlyOnceDeltaSink, txnAppId } from './exactly-once.sink';

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
});
