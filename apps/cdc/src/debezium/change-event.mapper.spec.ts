import type { TupleValue } from '../replication/pgoutput.decoder';
import { capturedTable, ChangeEventMapper, type EventPosition } from './change-event.mapper';
import { PgType, TypeRegistry } from './pg-types';

const follows = capturedTable(
  42,
  'public',
  'follows',
  [
    { isKey: true, name: 'follower_id', typeOid: PgType.int8, typeMod: -1 },
    { isKey: true, name: 'followee_id', typeOid: PgType.int8, typeMod: -1 },
    { isKey: false, name: 'muted', typeOid: PgType.bool, typeMod: -1 },
  ],
  ['follower_id', 'followee_id'],
);

const text = (value: string): TupleValue => ({ kind: 'text', value });
const NULL: TupleValue = { kind: 'null' };
const position: EventPosition = {
  txId: 771,
  lsn: 0x1_0000_0000n,
  lastCommitLsn: 0xff_ffffn,
  timeMicros: 1_709_294_400_123_456n,
  snapshot: 'false',
  transaction: { id: '771:4294967400', totalOrder: 1, tableOrder: 1 },
};

const RUN_ID = '8f0c7a8e-2d0b-4c55-9a43-7d7f3f0e2b11';
const CONTEXT = {
  '__debezium.context.connectorLogicalName': 'pulse',
  '__debezium.context.taskId': '0',
  '__debezium.context.connectorName': 'postgresql',
  '__debezium.context.runId': RUN_ID,
};

function mapper(settings: Partial<{ tombstonesOnDelete: boolean; transactionMetadata: boolean }> = {}) {
  return new ChangeEventMapper(
    { serverName: 'pulse', database: 'pulse', tombstonesOnDelete: true, transactionMetadata: true, runId: RUN_ID, ...settings },
    new TypeRegistry(),
    () => 1_709_294_401_000,
  );
}

describe('Debezium change event mapper', () => {
  it("builds the envelope and source block of Debezium's PostgreSQL connector", () => {
    const [record] = mapper().insert(follows, [text('1'), text('2'), text('f')], position);
    expect(record.topic.name).toBe('pulse.cdc.follows.v1');
    expect(record.key).toEqual({ follower_id: 1, followee_id: 2 });
    expect(JSON.parse(JSON.stringify(record.value))).toEqual({
      before: null,
      after: { follower_id: 1, followee_id: 2, muted: false },
      source: {
        version: '0.1.0-pulse',
        connector: 'postgresql',
        name: 'pulse',
        ts_ms: 1_709_294_400_123,
        snapshot: 'false',
        db: 'pulse',
        sequence: '["16777215","4294967296"]',
        ts_us: 1_709_294_400_123_456,
        ts_ns: 1_709_294_400_123_456_000,
        schema: 'public',
        table: 'follows',
        txId: 771,
        lsn: 4_294_967_296,
        xmin: null,
        origin: null,
        origin_lsn: null,
      },
      transaction: { id: '771:4294967400', total_order: 1, data_collection_order: 1 },
      op: 'c',
      ts_ms: 1_709_294_401_000,
      ts_us: 1_709_294_401_000_000,
      ts_ns: 1_709_294_401_000_000_000,
    });
    // Nanoseconds are beyond 2^53: exact in the JSON text.
    expect(JSON.stringify(record.value)).toContain('"ts_ns":1709294400123456000');
    expect(record.headers).toEqual(CONTEXT);
  });

  it("fills origin and origin_lsn from the transaction's replication origin", () => {
    const [record] = mapper().insert(follows, [text('1'), text('2'), text('f')], {
      ...position,
      origin: { name: 'pg_16389', lsn: 0x2_0000_0010n },
    });
    expect(record.value).toMatchObject({ source: { origin: 'pg_16389', origin_lsn: 8_589_934_608 } });
  });

  it('puts the connector context headers on every record, one run id per mapper unless given', () => {
    const old = { kind: 'key' as const, values: [text('1'), text('2'), NULL] };
    for (const r of mapper().delete(follows, old, position)) expect(r.headers).toEqual(CONTEXT);
    const generated = (m: ChangeEventMapper) => m.contextHeaders['__debezium.context.runId'];
    const settings = { serverName: 'pulse', database: 'pulse', tombstonesOnDelete: true, transactionMetadata: true };
    const a = new ChangeEventMapper(settings, new TypeRegistry());
    expect(generated(a)).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated(a)).not.toBe(generated(new ChangeEventMapper(settings, new TypeRegistry())));
  });

  it('follows a delete with a tombstone, unless tombstones are off', () => {
    const old = { kind: 'key' as const, values: [text('1'), text('2'), NULL] };
    expect(
      mapper()
        .delete(follows, old, position)
        .map((r) => [r.key, r.value === null ? null : (r.value as { op: string }).op]),
    ).toEqual([
      [{ follower_id: 1, followee_id: 2 }, 'd'],
      [{ follower_id: 1, followee_id: 2 }, null],
    ]);
    expect(mapper({ tombstonesOnDelete: false }).delete(follows, old, position)).toHaveLength(1);
  });

  it('turns an update of the key into delete + tombstone + create, with the other key in a header', () => {
    let order = 1;
    const next = () => ({ ...position, transaction: { ...position.transaction!, totalOrder: ++order, tableOrder: order } });
    const records = mapper().update(
      follows,
      { kind: 'key', values: [text('1'), text('2'), NULL] },
      [text('1'), text('3'), text('t')],
      position,
      next,
    );
    // Like Debezium, the tombstone after the delete carries the new key too.
    expect(records.map((r) => [r.key, (r.value as { op?: string } | null)?.op ?? null, r.headers ?? {}])).toEqual([
      [{ follower_id: 1, followee_id: 2 }, 'd', { ...CONTEXT, '__debezium.newkey': '{"follower_id":1,"followee_id":3}' }],
      [{ follower_id: 1, followee_id: 2 }, null, { ...CONTEXT, '__debezium.newkey': '{"follower_id":1,"followee_id":3}' }],
      [{ follower_id: 1, followee_id: 3 }, 'c', { ...CONTEXT, '__debezium.oldkey': '{"follower_id":1,"followee_id":2}' }],
    ]);
    expect((records[2].value as { transaction: { total_order: number } }).transaction.total_order).toBe(2);
  });

  it('keeps an update with an unchanged key as op u, with the old row as before when sent', () => {
    const [record] = mapper().update(
      follows,
      { kind: 'old', values: [text('1'), text('2'), text('f')] },
      [text('1'), text('2'), text('t')],
      position,
      () => position,
    );
    expect(record.value).toMatchObject({ op: 'u', before: { muted: false }, after: { muted: true } });
  });

  it('leaves the transaction block null without transaction metadata, and writes a keyless truncate', () => {
    const [record] = mapper({ transactionMetadata: false }).insert(follows, [text('1'), text('2'), text('f')], position);
    expect(record.value).toMatchObject({ transaction: null });
    const truncate = mapper().truncate(follows, position);
    expect(truncate).toMatchObject({ key: null, value: { op: 't', before: null, after: null } });
  });

  it('refuses a tuple that does not match the relation', () => {
    expect(() => mapper().insert(follows, [text('1')], position)).toThrow(/tuple has 1 columns, relation has 3/);
  });
});
