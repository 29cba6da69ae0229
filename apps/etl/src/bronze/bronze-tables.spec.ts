import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { DebeziumEnvelope } from '@pulse/contracts';
import type { IncomingRecord } from '@pulse/platform';
import { readActivityColumns } from './activity-columns';
import { activityBronzeTable, cdcBronzeTable } from './bronze-tables';

const record = <K, V>(key: K, value: V): IncomingRecord<K, V> => ({
  topic: 't',
  partition: 0,
  offset: 0n,
  timestampMs: 0,
  key,
  value,
  headers: {},
});
const envelope = (op: DebeziumEnvelope['op'], before: Record<string, unknown> | null, after: Record<string, unknown> | null) =>
  ({
    op,
    before,
    after,
    ts_ms: 1,
    source: { ts_ms: 1, lsn: 1, txId: 1, snapshot: 'false', db: 'pulse', schema: 'public', table: 't' },
  }) as DebeziumEnvelope;

describe('bronze tables: whom a record is about (erasure)', () => {
  it('names the acting user of a tracked event', () => {
    const table = activityBronzeTable(1, 10);
    expect(
      table.subjects(
        record(
          'u-1',
          readActivityColumns(new BinaryWriter().tag(1, 2).bytes(new BinaryWriter().tag(2, 2).string('u-1').finish()).finish()),
        ),
      ),
    ).toEqual(['u-1']);
  });

  it("names the users in a CDC row's user columns, before and after, from the key too", () => {
    expect(cdcBronzeTable('public.users', 1, 10).subjects(record({ id: 42 }, envelope('d', { id: 42, handle: null }, null)))).toContain(
      '42',
    );
    const follows = cdcBronzeTable('public.follows', 1, 10).subjects(
      record({ follower_id: 1, followee_id: 2 }, envelope('c', null, { follower_id: 1, followee_id: 2 })),
    );
    expect(follows).toEqual(expect.arrayContaining(['1', '2']));
    const posts = cdcBronzeTable('app.posts', 1, 10).subjects(record({ id: 9 }, envelope('u', null, { id: 9, author_id: 42 })));
    expect(posts).toContain('42');
    expect(posts).not.toContain('9');
  });
});
