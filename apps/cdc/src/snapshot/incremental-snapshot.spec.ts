import type { Logger } from '@pulse/platform';
import type { CdcCatalogRepository, TableInfo } from '../capture/cdc-catalog.pg.repository';
import { encodeRecord } from '../capture/kafka-records';
import { capturedTable, ChangeEventMapper } from '../debezium/change-event.mapper';
import { PgType, TypeRegistry } from '../debezium/pg-types';
import type { TextRow } from './initial-snapshot.pg.reader';
import { type IncrementalSnapshotRecord, IncrementalSnapshotter, WATERMARK_PREFIX } from './incremental-snapshot';
import type { ChunkReader, KeyValues } from './incremental-snapshot.pg.reader';

const info: TableInfo = {
  relationOid: 42,
  schema: 'public',
  table: 'items',
  columns: [
    { name: 'id', typeOid: PgType.int8, typeMod: -1, typeName: 'bigint', notNull: true, defaultValue: null, position: 1 },
    { name: 'name', typeOid: PgType.text, typeMod: -1, typeName: 'text', notNull: false, defaultValue: null, position: 2 },
  ],
  primaryKey: ['id'],
};
const streamed = capturedTable(
  42,
  'public',
  'items',
  info.columns.map((c) => ({ isKey: c.name === 'id', name: c.name, typeOid: c.typeOid, typeMod: c.typeMod })),
  ['id'],
);
const mapper = new ChangeEventMapper(
  { serverName: 'pulse', database: 'pulse', tombstonesOnDelete: true, transactionMetadata: true },
  new TypeRegistry(),
);
const position = { txId: 9, lsn: 100n, lastCommitLsn: 90n, timeMicros: 1_000_000n };

/** A table of rows id → name; the reader answers chunks from it as PostgreSQL would. */
function setup(rows: Map<number, string>) {
  const messages: { id: string; kind: string }[] = [];
  const saved: IncrementalSnapshotRecord[] = [];
  const emitted: [string, number][] = [];
  const sorted = () => [...rows.keys()].sort((a, b) => a - b);
  const reader = {
    estimate: async () => rows.size,
    maxKey: async (): Promise<KeyValues | undefined> => (rows.size ? [String(sorted().at(-1))] : undefined),
    chunk: async (_t: TableInfo, after: KeyValues | null, upTo: KeyValues, limit: number): Promise<TextRow[]> =>
      sorted()
        .filter((id) => (after === null || id > Number(after[0])) && id <= Number(upTo[0]))
        .slice(0, limit)
        .map((id) => [String(id), rows.get(id) ?? null]),
  } as unknown as ChunkReader;
  const catalog = {
    tableInfo: async () => info,
    emitMessage: async (prefix: string, content: string) => {
      expect(prefix).toBe(WATERMARK_PREFIX);
      messages.push(JSON.parse(content));
      return 0n;
    },
  } as unknown as CdcCatalogRepository;
  const logger = { info: () => undefined, error: () => undefined } as unknown as Logger;
  const snapshots = new IncrementalSnapshotter({
    slot: 's1',
    publication: 'p',
    catalog,
    reader,
    mapper,
    logger,
    persist: async (record) => void saved.push(JSON.parse(JSON.stringify(record))),
    emitted: (table, n) => void emitted.push([table, n]),
  });
  snapshots.sessionStarted(() => undefined);
  const watermark = (kind: string) => Buffer.from(JSON.stringify({ slot: 's1', id: messages.at(-1)?.id, kind }));
  return { snapshots, messages, saved, emitted, watermark };
}

const streamedInsert = (id: number, name: string) =>
  mapper
    .insert(
      streamed,
      [
        { kind: 'text', value: String(id) },
        { kind: 'text', value: name },
      ],
      { ...position, snapshot: 'false' },
    )
    .map(encodeRecord);

describe('incremental snapshot (watermark windows)', () => {
  it('reads a chunk between a low and a high watermark and emits the rows no streamed change touched inside the window', async () => {
    const { snapshots, messages, watermark, emitted } = setup(new Map([1, 2, 3, 4, 5].map((id) => [id, `n${id}`])));
    await snapshots.start([{ info, condition: '' }], 3);
    expect(snapshots.wantsChunk()).toBe(true);
    await snapshots.readChunk();
    expect(messages.map((m) => m.kind)).toEqual(['open', 'close']);
    expect(messages[0].id).toBe(messages[1].id);
    expect(snapshots.wantsChunk()).toBe(false);
    expect(snapshots.windowPending).toBe(true);

    // Before the low watermark: no effect (the chunk read saw that change).
    for (const r of streamedInsert(1, 'before')) snapshots.touched(r);
    expect(snapshots.watermarkReached(watermark('open'))).toBe('open');
    for (const r of streamedInsert(2, 'inside')) snapshots.touched(r);
    expect(snapshots.watermarkReached(watermark('close'))).toBe('close');
    const closed = snapshots.closeWindow(position);
    const values = closed.records.map((r) => JSON.parse(r.value!.toString()));
    expect(values.map((v) => v.after.id)).toEqual([1, 3]);
    expect(values[0]).toMatchObject({
      op: 'r',
      before: null,
      after: { id: 1, name: 'n1' },
      source: { snapshot: 'incremental', txId: 9, lsn: 100 },
    });
    expect(closed.records.every((r) => r.stats === undefined)).toBe(true);
    await snapshots.chunkEmitted(closed);
    expect(emitted).toEqual([['public.items', 2]]);

    // The second chunk continues after key 3 and completes the table and the snapshot.
    await snapshots.readChunk();
    snapshots.watermarkReached(watermark('open'));
    snapshots.watermarkReached(watermark('close'));
    const last = snapshots.closeWindow(position);
    expect(last.records.map((r) => JSON.parse(r.value!.toString()).after.id)).toEqual([4, 5]);
    await snapshots.chunkEmitted(last);
    await snapshots.readChunk();
    expect(snapshots.active).toBe(false);
  });

  it('ignores watermarks of other slots and of chunks dropped by a new session', async () => {
    const { snapshots, messages } = setup(new Map([[1, 'a']]));
    await snapshots.start([{ info, condition: '' }], 10);
    await snapshots.readChunk();
    const id = messages[0].id;
    expect(snapshots.watermarkReached(Buffer.from(JSON.stringify({ slot: 'other', id, kind: 'open' })))).toBeUndefined();
    expect(snapshots.watermarkReached(Buffer.from('not json'))).toBeUndefined();
    snapshots.sessionStarted(() => undefined);
    expect(snapshots.watermarkReached(Buffer.from(JSON.stringify({ slot: 's1', id, kind: 'open' })))).toBeUndefined();
    expect(snapshots.wantsChunk()).toBe(true);
  });

  it('stops on request, and resumes a persisted snapshot after its last key', async () => {
    const rows = new Map([1, 2, 3, 4].map((id) => [id, `n${id}`]));
    const first = setup(rows);
    const record = await first.snapshots.start([{ info, condition: '' }], 2);
    await first.snapshots.readChunk();
    first.snapshots.watermarkReached(first.watermark('open'));
    first.snapshots.watermarkReached(first.watermark('close'));
    await first.snapshots.chunkEmitted(first.snapshots.closeWindow(position));

    const second = setup(rows);
    second.snapshots.restore(first.saved.at(-1));
    expect(second.snapshots.activeId).toBe(record.id);
    await second.snapshots.readChunk();
    second.snapshots.watermarkReached(second.watermark('open'));
    second.snapshots.watermarkReached(second.watermark('close'));
    expect(second.snapshots.closeWindow(position).records.map((r) => JSON.parse(r.value!.toString()).after.id)).toEqual([3, 4]);

    const stopped = await second.snapshots.stop(record.id, []);
    expect(stopped).toMatchObject({ state: 'stopped', tables: [{ state: 'stopped' }] });
    expect(second.snapshots.windowPending).toBe(false);
    expect(second.snapshots.wantsChunk()).toBe(false);
  });
});
