import type { Lsn } from './lsn';
import { pgMicrosToUnixMicros } from './replication-protocol';

/**
 * Messages of the pgoutput logical decoding plugin, protocol version 1 (PostgreSQL docs, "Logical
 * Replication Message Formats"), plus the Message ('M') of `messages 'true'`. Values arrive in text form.
 */
export type PgOutputMessage =
  | BeginMessage
  | CommitMessage
  | OriginMessage
  | RelationMessage
  | TypeMessage
  | InsertMessage
  | UpdateMessage
  | DeleteMessage
  | TruncateMessage
  | LogicalMessage;

export interface BeginMessage {
  tag: 'begin';
  /** LSN of the transaction's commit record. */
  finalLsn: Lsn;
  /** Commit time, µs since the Unix epoch. */
  commitTimeMicros: bigint;
  xid: number;
}

export interface CommitMessage {
  tag: 'commit';
  flags: number;
  /** LSN of the commit record. */
  commitLsn: Lsn;
  /** End of the commit record: the position to confirm once the transaction is durable downstream. */
  endLsn: Lsn;
  commitTimeMicros: bigint;
}

export interface OriginMessage {
  tag: 'origin';
  originLsn: Lsn;
  name: string;
}

export interface RelationColumn {
  /** Part of the replica identity (the primary key unless REPLICA IDENTITY is FULL or USING INDEX). */
  isKey: boolean;
  name: string;
  typeOid: number;
  /** Type modifier: e.g. precision of timestamp(3), (precision << 16 | scale) + 4 of numeric(p,s); -1 when none. */
  typeMod: number;
}

export interface RelationMessage {
  tag: 'relation';
  relationOid: number;
  /** Schema; pgoutput sends an empty string for pg_catalog. */
  schema: string;
  table: string;
  /** d = default (primary key), n = nothing, f = full, i = index. */
  replicaIdentity: 'd' | 'n' | 'f' | 'i';
  columns: RelationColumn[];
}

export interface TypeMessage {
  tag: 'type';
  typeOid: number;
  schema: string;
  name: string;
}

/** One column of a tuple: SQL NULL, an unchanged TOASTed value (not sent), or its text form. */
export type TupleValue = { kind: 'null' } | { kind: 'unchanged' } | { kind: 'text'; value: string } | { kind: 'binary'; value: Buffer };

export interface InsertMessage {
  tag: 'insert';
  relationOid: number;
  newTuple: TupleValue[];
}

export interface UpdateMessage {
  tag: 'update';
  relationOid: number;
  /** The old row's replica identity columns ('K', when the key changed) or the whole old row ('O', REPLICA IDENTITY FULL). */
  oldTuple?: { kind: 'key' | 'old'; values: TupleValue[] };
  newTuple: TupleValue[];
}

export interface DeleteMessage {
  tag: 'delete';
  relationOid: number;
  oldTuple: { kind: 'key' | 'old'; values: TupleValue[] };
}

export interface TruncateMessage {
  tag: 'truncate';
  cascade: boolean;
  restartIdentity: boolean;
  relationOids: number[];
}

/** A message written with pg_logical_emit_message (needs the `messages` option). */
export interface LogicalMessage {
  tag: 'message';
  transactional: boolean;
  lsn: Lsn;
  prefix: string;
  content: Buffer;
}

/** Reads the big-endian fields of one pgoutput message; throws on a truncated buffer. */
class Reader {
  private offset = 0;

  constructor(private readonly buffer: Buffer) {}

  private need(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) {
      throw new Error(`pgoutput message truncated: need ${bytes} bytes at offset ${this.offset} of ${this.buffer.length}`);
    }
  }

  uint8(): number {
    this.need(1);
    return this.buffer[this.offset++];
  }

  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint64(): bigint {
    this.need(8);
    const value = this.buffer.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  int64(): bigint {
    this.need(8);
    const value = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  /** A NUL-terminated UTF-8 string. */
  string(): string {
    const end = this.buffer.indexOf(0, this.offset);
    if (end < 0) throw new Error(`pgoutput message truncated: unterminated string at offset ${this.offset}`);
    const value = this.buffer.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return value;
  }

  bytes(length: number): Buffer {
    this.need(length);
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  get remaining(): number {
    return this.buffer.length - this.offset;
  }
}

/** Decodes one pgoutput message (the payload of an XLogData). */
export function decodePgOutput(payload: Buffer): PgOutputMessage {
  const reader = new Reader(payload);
  const tag = String.fromCharCode(reader.uint8());
  switch (tag) {
    case 'B':
      return { tag: 'begin', finalLsn: reader.uint64(), commitTimeMicros: pgMicrosToUnixMicros(reader.int64()), xid: reader.uint32() };
    case 'C':
      return {
        tag: 'commit',
        flags: reader.uint8(),
        commitLsn: reader.uint64(),
        endLsn: reader.uint64(),
        commitTimeMicros: pgMicrosToUnixMicros(reader.int64()),
      };
    case 'O':
      return { tag: 'origin', originLsn: reader.uint64(), name: reader.string() };
    case 'R': {
      const relationOid = reader.uint32();
      const schema = reader.string();
      const table = reader.string();
      const identity = String.fromCharCode(reader.uint8());
      if (!['d', 'n', 'f', 'i'].includes(identity)) throw new Error(`unknown replica identity "${identity}" for ${schema}.${table}`);
      const count = reader.int16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < count; i++) {
        const flags = reader.uint8();
        columns.push({ isKey: (flags & 1) === 1, name: reader.string(), typeOid: reader.uint32(), typeMod: reader.int32() });
      }
      return { tag: 'relation', relationOid, schema, table, replicaIdentity: identity as RelationMessage['replicaIdentity'], columns };
    }
    case 'Y':
      return { tag: 'type', typeOid: reader.uint32(), schema: reader.string(), name: reader.string() };
    case 'I': {
      const relationOid = reader.uint32();
      expectByte(reader, 'N', 'insert');
      return { tag: 'insert', relationOid, newTuple: readTuple(reader) };
    }
    case 'U': {
      const relationOid = reader.uint32();
      let marker = String.fromCharCode(reader.uint8());
      let oldTuple: UpdateMessage['oldTuple'];
      if (marker === 'K' || marker === 'O') {
        oldTuple = { kind: marker === 'K' ? 'key' : 'old', values: readTuple(reader) };
        marker = String.fromCharCode(reader.uint8());
      }
      if (marker !== 'N') throw new Error(`update message: expected 'N', got '${marker}'`);
      return { tag: 'update', relationOid, oldTuple, newTuple: readTuple(reader) };
    }
    case 'D': {
      const relationOid = reader.uint32();
      const marker = String.fromCharCode(reader.uint8());
      if (marker !== 'K' && marker !== 'O') throw new Error(`delete message: expected 'K' or 'O', got '${marker}'`);
      return { tag: 'delete', relationOid, oldTuple: { kind: marker === 'K' ? 'key' : 'old', values: readTuple(reader) } };
    }
    case 'T': {
      const count = reader.uint32();
      const options = reader.uint8();
      const relationOids: number[] = [];
      for (let i = 0; i < count; i++) relationOids.push(reader.uint32());
      return { tag: 'truncate', cascade: (options & 1) === 1, restartIdentity: (options & 2) === 2, relationOids };
    }
    case 'M': {
      const flags = reader.uint8();
      const lsn = reader.uint64();
      const prefix = reader.string();
      const length = reader.uint32();
      return { tag: 'message', transactional: (flags & 1) === 1, lsn, prefix, content: Buffer.from(reader.bytes(length)) };
    }
    default:
      throw new Error(`unknown pgoutput message type '${tag}' (0x${payload[0]?.toString(16)})`);
  }
}

function expectByte(reader: Reader, expected: string, message: string): void {
  const got = String.fromCharCode(reader.uint8());
  if (got !== expected) throw new Error(`${message} message: expected '${expected}', got '${got}'`);
}

function readTuple(reader: Reader): TupleValue[] {
  const count = reader.int16();
  const values: TupleValue[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const kind = String.fromCharCode(reader.uint8());
    switch (kind) {
      case 'n':
        values[i] = { kind: 'null' };
        break;
      case 'u':
        values[i] = { kind: 'unchanged' };
        break;
      case 't':
        values[i] = { kind: 'text', value: reader.bytes(reader.int32()).toString('utf8') };
        break;
      case 'b':
        values[i] = { kind: 'binary', value: Buffer.from(reader.bytes(reader.int32())) };
        break;
      default:
        throw new Error(`tuple column ${i}: unknown kind '${kind}'`);
    }
  }
  return values;
}
