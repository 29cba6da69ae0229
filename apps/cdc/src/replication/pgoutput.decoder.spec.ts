import { decodePgOutput } from './pgoutput.decoder';
import { formatLsn, parseLsn } from './lsn';
import { encodeStandbyStatus, parseReplicationMessage, PG_EPOCH_OFFSET_MICROS } from './replication-protocol';

/** Builds binary pgoutput messages field by field, as the server writes them (big-endian, NUL-terminated strings). */
class Bytes {
  private readonly parts: Buffer[] = [];

  char(c: string) {
    this.parts.push(Buffer.from(c, 'ascii'));
    return this;
  }
  u8(n: number) {
    this.parts.push(Buffer.from([n]));
    return this;
  }
  i16(n: number) {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    this.parts.push(b);
    return this;
  }
  i32(n: number) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }
  u32(n: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    this.parts.push(b);
    return this;
  }
  u64(n: bigint) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(n);
    this.parts.push(b);
    return this;
  }
  str(s: string) {
    this.parts.push(Buffer.from(s, 'utf8'), Buffer.from([0]));
    return this;
  }
  raw(b: Buffer) {
    this.parts.push(b);
    return this;
  }
  /** TupleData: 'n', 'u' or a text value. */
  tuple(values: (string | null | 'UNCHANGED')[]) {
    this.i16(values.length);
    for (const v of values) {
      if (v === null) this.char('n');
      else if (v === 'UNCHANGED') this.char('u');
      else {
        const text = Buffer.from(v, 'utf8');
        this.char('t').i32(text.length).raw(text);
      }
    }
    return this;
  }
  build() {
    return Buffer.concat(this.parts);
  }
}

// 2024-03-01T12:00:00.123456Z in PostgreSQL's epoch (µs since 2000-01-01).
const COMMIT_UNIX_MICROS = 1_709_294_400_123_456n;
const COMMIT_PG_MICROS = COMMIT_UNIX_MICROS - PG_EPOCH_OFFSET_MICROS;

describe('pgoutput decoder', () => {
  it('decodes Begin with the final LSN, commit time in Unix µs and xid', () => {
    const message = decodePgOutput(new Bytes().char('B').u64(0x16b3748n).u64(COMMIT_PG_MICROS).u32(4_000_000_000).build());
    expect(message).toEqual({ tag: 'begin', finalLsn: 0x16b3748n, commitTimeMicros: COMMIT_UNIX_MICROS, xid: 4_000_000_000 });
  });

  it('decodes Commit with its commit and end LSNs', () => {
    const message = decodePgOutput(new Bytes().char('C').u8(0).u64(0x100n).u64(0x130n).u64(COMMIT_PG_MICROS).build());
    expect(message).toEqual({ tag: 'commit', flags: 0, commitLsn: 0x100n, endLsn: 0x130n, commitTimeMicros: COMMIT_UNIX_MICROS });
  });

  it('decodes Origin', () => {
    expect(decodePgOutput(new Bytes().char('O').u64(0x42n).str('upstream').build())).toEqual({
      tag: 'origin',
      originLsn: 0x42n,
      name: 'upstream',
    });
  });

  it('decodes Relation with replica identity, key flags, type OIDs and modifiers', () => {
    const message = decodePgOutput(
      new Bytes()
        .char('R')
        .u32(16_384)
        .str('public')
        .str('follows')
        .char('d')
        .i16(3)
        .u8(1)
        .str('follower_id')
        .u32(20)
        .i32(-1)
        .u8(1)
        .str('followee_id')
        .u32(20)
        .i32(-1)
        .u8(0)
        .str('created_at')
        .u32(1184)
        .i32(3)
        .build(),
    );
    expect(message).toEqual({
      tag: 'relation',
      relationOid: 16_384,
      schema: 'public',
      table: 'follows',
      replicaIdentity: 'd',
      columns: [
        { isKey: true, name: 'follower_id', typeOid: 20, typeMod: -1 },
        { isKey: true, name: 'followee_id', typeOid: 20, typeMod: -1 },
        { isKey: false, name: 'created_at', typeOid: 1184, typeMod: 3 },
      ],
    });
  });

  it('decodes Type', () => {
    expect(decodePgOutput(new Bytes().char('Y').u32(16_500).str('app').str('post_visibility').build())).toEqual({
      tag: 'type',
      typeOid: 16_500,
      schema: 'app',
      name: 'post_visibility',
    });
  });

  it('decodes Insert tuples with text, NULL and multi-byte UTF-8 values', () => {
    const message = decodePgOutput(new Bytes().char('I').u32(16_384).char('N').tuple(['42', null, 'héllo 👋']).build());
    expect(message).toEqual({
      tag: 'insert',
      relationOid: 16_384,
      newTuple: [{ kind: 'text', value: '42' }, { kind: 'null' }, { kind: 'text', value: 'héllo 👋' }],
    });
  });

  it('decodes Update without an old tuple, keeping unchanged TOAST columns apart', () => {
    const message = decodePgOutput(new Bytes().char('U').u32(7).char('N').tuple(['1', 'UNCHANGED']).build());
    expect(message).toEqual({
      tag: 'update',
      relationOid: 7,
      oldTuple: undefined,
      newTuple: [{ kind: 'text', value: '1' }, { kind: 'unchanged' }],
    });
  });

  it('decodes Update with the old key (K) and with the full old row (O)', () => {
    const withKey = decodePgOutput(new Bytes().char('U').u32(7).char('K').tuple(['1', null]).char('N').tuple(['2', 'x']).build());
    expect(withKey).toMatchObject({ oldTuple: { kind: 'key', values: [{ kind: 'text', value: '1' }, { kind: 'null' }] } });
    const withOld = decodePgOutput(new Bytes().char('U').u32(7).char('O').tuple(['1', 'a']).char('N').tuple(['1', 'b']).build());
    expect(withOld).toMatchObject({
      oldTuple: {
        kind: 'old',
        values: [
          { kind: 'text', value: '1' },
          { kind: 'text', value: 'a' },
        ],
      },
      newTuple: [
        { kind: 'text', value: '1' },
        { kind: 'text', value: 'b' },
      ],
    });
  });

  it('decodes Delete with the old key', () => {
    expect(decodePgOutput(new Bytes().char('D').u32(7).char('K').tuple(['9', null]).build())).toEqual({
      tag: 'delete',
      relationOid: 7,
      oldTuple: { kind: 'key', values: [{ kind: 'text', value: '9' }, { kind: 'null' }] },
    });
  });

  it('decodes Truncate with its options and relations', () => {
    expect(decodePgOutput(new Bytes().char('T').u32(2).u8(3).u32(10).u32(11).build())).toEqual({
      tag: 'truncate',
      cascade: true,
      restartIdentity: true,
      relationOids: [10, 11],
    });
  });

  it('decodes a transactional logical decoding message', () => {
    const message = decodePgOutput(
      new Bytes().char('M').u8(1).u64(0x99n).str('pulse.cdc.heartbeat').u32(4).raw(Buffer.from('slot')).build(),
    );
    expect(message).toEqual({
      tag: 'message',
      transactional: true,
      lsn: 0x99n,
      prefix: 'pulse.cdc.heartbeat',
      content: Buffer.from('slot'),
    });
  });

  it('refuses a truncated message and an unknown type, naming the problem', () => {
    expect(() => decodePgOutput(new Bytes().char('B').u64(1n).build())).toThrow(/truncated/);
    expect(() => decodePgOutput(new Bytes().char('I').u32(1).char('N').i16(1).char('t').i32(10).raw(Buffer.from('ab')).build())).toThrow(
      /truncated/,
    );
    expect(() => decodePgOutput(new Bytes().char('Z').build())).toThrow(/unknown pgoutput message type 'Z'/);
    expect(() => decodePgOutput(new Bytes().char('I').u32(1).char('N').i16(1).char('x').build())).toThrow(/unknown kind 'x'/);
  });
});

describe('replication protocol', () => {
  it('parses XLogData: WAL start, WAL end, send time and the payload after the 25-byte header', () => {
    const payload = new Bytes().char('C').u8(0).u64(1n).u64(2n).u64(3n).build();
    const chunk = new Bytes().char('w').u64(0x1_0000_0010n).u64(0x1_0000_0020n).u64(COMMIT_PG_MICROS).raw(payload).build();
    const message = parseReplicationMessage(chunk);
    expect(message).toEqual({
      kind: 'data',
      dataStart: 0x1_0000_0010n,
      walEnd: 0x1_0000_0020n,
      sendTimeMicros: COMMIT_UNIX_MICROS,
      payload,
    });
  });

  it('parses a primary keepalive and whether it asks for a reply', () => {
    const chunk = new Bytes().char('k').u64(0x500n).u64(COMMIT_PG_MICROS).u8(1).build();
    expect(parseReplicationMessage(chunk)).toEqual({
      kind: 'keepalive',
      walEnd: 0x500n,
      sendTimeMicros: COMMIT_UNIX_MICROS,
      replyRequested: true,
    });
  });

  it('encodes a standby status update: written, flushed, applied and the clock in PostgreSQL µs', () => {
    const message = encodeStandbyStatus({ written: 0x30n, flushed: 0x20n, applied: 0x10n }, 1_709_294_400_123, true);
    expect(message).toHaveLength(34);
    expect(String.fromCharCode(message[0])).toBe('r');
    expect(message.readBigUInt64BE(1)).toBe(0x30n);
    expect(message.readBigUInt64BE(9)).toBe(0x20n);
    expect(message.readBigUInt64BE(17)).toBe(0x10n);
    expect(message.readBigInt64BE(25)).toBe(1_709_294_400_123_000n - PG_EPOCH_OFFSET_MICROS);
    expect(message[33]).toBe(1);
  });

  it('reads and writes LSNs in their X/Y form', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16_b374d848n);
    expect(formatLsn(0x16_b374d848n)).toBe('16/B374D848');
    expect(formatLsn(parseLsn('0/0'))).toBe('0/0');
    expect(() => parseLsn('nope')).toThrow(/not an LSN/);
  });
});
