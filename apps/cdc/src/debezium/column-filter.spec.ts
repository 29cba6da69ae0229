import { cdcConfigSchema } from '../config/cdc.config';
import { capturedTable, ChangeEventMapper, type EventPosition } from './change-event.mapper';
import { ColumnFilter, parseExcludeList, parseMaskList } from './column-filter';
import type { TupleValue } from '../replication/pgoutput.decoder';
import { PgType, TypeRegistry } from './pg-types';
import { schemaChangeRecord } from '../capture/schema-change';
import { cdcV1 } from '@pulse/contracts';

const users = capturedTable(
  7,
  'app',
  'users',
  [
    { isKey: true, name: 'id', typeOid: PgType.int8, typeMod: -1 },
    { isKey: false, name: 'handle', typeOid: PgType.text, typeMod: -1 },
    { isKey: false, name: 'email', typeOid: PgType.text, typeMod: -1 },
    { isKey: false, name: 'phone', typeOid: PgType.text, typeMod: -1 },
    { isKey: false, name: 'bio', typeOid: PgType.text, typeMod: -1 },
  ],
  ['id'],
);
const text = (value: string): TupleValue => ({ kind: 'text', value });
const position: EventPosition = { txId: 1, lsn: 100n, lastCommitLsn: null, timeMicros: 1_700_000_000_000_000n, snapshot: 'false' };

function mapper(columns: ColumnFilter) {
  return new ChangeEventMapper(
    { serverName: 'pulse', database: 'pulse', tombstonesOnDelete: true, transactionMetadata: false, columns },
    new TypeRegistry(),
  );
}

describe('column exclude and mask lists (Debezium column.exclude.list, column.mask.with.<length>.chars)', () => {
  const filter = new ColumnFilter({ exclude: parseExcludeList('[^.]+\\.users\\.email'), masks: parseMaskList('6:app\\.users\\.phone') });
  const row = [text('42'), text('ada'), text('ada@example.org'), text('+44 20 7946 0000'), { kind: 'null' } as TupleValue];

  it('leaves excluded columns out of before and after, and masks masked values with that many asterisks', () => {
    const m = mapper(filter);
    const [created] = m.insert(users, row, position);
    expect(created.key).toEqual({ id: 42 });
    expect((created.value as { after: unknown }).after).toEqual({ id: 42, handle: 'ada', phone: '******', bio: null });
    const [deleted] = m.delete(users, { kind: 'old', values: row }, position);
    expect((deleted.value as { before: unknown }).before).toEqual({ id: 42, handle: 'ada', phone: '******', bio: null });
    expect(JSON.stringify([created, deleted])).not.toContain('ada@example.org');
  });

  it('keeps null values null when masked, and never excludes or masks a key column', () => {
    const keyed = new ColumnFilter({ exclude: parseExcludeList('app\\.users\\.id'), masks: parseMaskList('3:.*\\.phone') });
    const [created] = mapper(keyed).insert(users, [text('1'), text('h'), text('e'), { kind: 'null' }, text('b')], position);
    expect(created.key).toEqual({ id: 1 });
    expect((created.value as { after: unknown }).after).toEqual({ id: 1, handle: 'h', email: 'e', phone: null, bio: 'b' });
  });

  it('matches the whole schema.table.column, case-insensitively, as Debezium anchors its expressions', () => {
    const only = new ColumnFilter({ exclude: parseExcludeList('users\\.email'), masks: [] });
    expect(only.actions('app', 'users', ['email'], []).map((a) => a.kind)).toEqual(['keep']);
    const all = new ColumnFilter({ exclude: parseExcludeList('APP\\.USERS\\.EMAIL'), masks: [] });
    expect(all.actions('app', 'users', ['email'], []).map((a) => a.kind)).toEqual(['exclude']);
    expect(parseExcludeList('a\\.b\\.c{1,2},x\\.y\\.z')).toHaveLength(2);
  });

  it('leaves excluded columns out of the schema change events too', () => {
    const record = schemaChangeRecord(users, undefined, cdcV1.SchemaChangeType.SCHEMA_CHANGE_TYPE_CREATE, {
      database: 'pulse',
      lsn: 1n,
      timeMicros: 1n,
      types: new TypeRegistry(),
      columns: filter,
    });
    expect((record.value as cdcV1.SchemaChange).columns.map((c) => c.name)).toEqual(['id', 'handle', 'phone', 'bio']);
  });

  it('excludes users.email of every schema by default, and refuses a malformed entry naming it', () => {
    const config = cdcConfigSchema.parse({});
    const byDefault = new ColumnFilter({ exclude: config.CDC_COLUMN_EXCLUDE_LIST, masks: config.CDC_COLUMN_MASK_WITH_CHARS });
    expect(byDefault.actions('public', 'users', ['id', 'email'], ['id']).map((a) => a.kind)).toEqual(['keep', 'exclude']);
    expect(byDefault.actions('public', 'posts', ['email'], []).map((a) => a.kind)).toEqual(['keep']);
    expect(cdcConfigSchema.parse({ CDC_COLUMN_EXCLUDE_LIST: '' }).CDC_COLUMN_EXCLUDE_LIST).toEqual([]);
    expect(() => cdcConfigSchema.parse({ CDC_COLUMN_EXCLUDE_LIST: 'users.(' })).toThrow();
    expect(() => cdcConfigSchema.parse({ CDC_COLUMN_MASK_WITH_CHARS: 'public.users.phone' })).toThrow(/<length>:<regex>/);
  });
});
