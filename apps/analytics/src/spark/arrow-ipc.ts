/**
 * A reader of the Arrow IPC streaming format, as much of it as Spark Connect sends: each `ArrowBatch` of an
 * ExecutePlan response is a stream of one Schema message and record batches (uncompressed), of the types Spark
 * SQL maps to Arrow. Rows come back as plain objects. The format: https://arrow.apache.org/docs/format/Columnar.html
 * (IPC streaming format; Message, Schema and RecordBatch from Message.fbs / Schema.fbs, read here without a
 * FlatBuffers library).
 *
 * | Arrow type (Spark type)                              | value                                      |
 * |------------------------------------------------------|--------------------------------------------|
 * | Int 8/16/32 (byte, short, int), FloatingPoint        | number                                     |
 * | Int 64 (long)                                        | number (exact up to 2^53; bigint beyond)   |
 * | Bool                                                 | boolean                                    |
 * | Utf8, LargeUtf8 (string)                             | string                                     |
 * | Binary, LargeBinary (binary)                         | Buffer                                     |
 * | Date DAY (date)                                      | `YYYY-MM-DD` string                        |
 * | Timestamp (timestamp, timestamp_ntz)                 | epoch milliseconds (number)                |
 * | Decimal 128 (decimal)                                | number                                     |
 * | List, LargeList, FixedSizeList (array)               | array                                      |
 * | Struct (struct)                                      | object                                     |
 * | Map (map)                                            | object keyed by the key's string form      |
 * | Null                                                 | null                                       |
 */

/** A column of a decoded batch: its name, Arrow type and children (for nested types). */
export interface ArrowField {
  name: string;
  nullable: boolean;
  type: ArrowType;
  children: ArrowField[];
}

export type ArrowType =
  | { kind: 'null' }
  | { kind: 'int'; bitWidth: number; signed: boolean }
  | { kind: 'float'; precision: 'half' | 'single' | 'double' }
  | { kind: 'bool' }
  | { kind: 'utf8'; large: boolean }
  | { kind: 'binary'; large: boolean }
  | { kind: 'date'; unit: 'day' | 'millisecond' }
  | { kind: 'timestamp'; unit: 'second' | 'millisecond' | 'microsecond' | 'nanosecond'; timezone: string }
  | { kind: 'decimal'; precision: number; scale: number; bitWidth: number }
  | { kind: 'list'; large: boolean }
  | { kind: 'fixed-size-list'; size: number }
  | { kind: 'struct' }
  | { kind: 'map' };

export type ArrowRow = Record<string, unknown>;

/** The stream is not one this reader understands (a type, compression or message it does not read). */
export class ArrowFormatError extends Error {
  constructor(message: string) {
    super(`Arrow IPC: ${message}`);
    this.name = 'ArrowFormatError';
  }
}

// --- FlatBuffers: tables, vectors, strings and unions, little-endian -------------------------------------------

class Table {
  private readonly vtable: number;
  private readonly vtableSize: number;

  constructor(
    private readonly view: DataView,
    readonly pos: number,
  ) {
    this.vtable = pos - view.getInt32(pos, true);
    this.vtableSize = view.getUint16(this.vtable, true);
  }

  static root(view: DataView): Table {
    return new Table(view, view.getUint32(0, true));
  }

  /** Offset of field `id` from the table start, 0 when absent. */
  private offset(id: number): number {
    const at = 4 + 2 * id;
    return at < this.vtableSize ? this.view.getUint16(this.vtable + at, true) : 0;
  }

  int8(id: number, fallback = 0): number {
    const o = this.offset(id);
    return o ? this.view.getInt8(this.pos + o) : fallback;
  }

  uint8(id: number, fallback = 0): number {
    const o = this.offset(id);
    return o ? this.view.getUint8(this.pos + o) : fallback;
  }

  int16(id: number, fallback = 0): number {
    const o = this.offset(id);
    return o ? this.view.getInt16(this.pos + o, true) : fallback;
  }

  int32(id: number, fallback = 0): number {
    const o = this.offset(id);
    return o ? this.view.getInt32(this.pos + o, true) : fallback;
  }

  int64(id: number, fallback = 0): number {
    const o = this.offset(id);
    return o ? Number(this.view.getBigInt64(this.pos + o, true)) : fallback;
  }

  bool(id: number, fallback = false): boolean {
    const o = this.offset(id);
    return o ? this.view.getUint8(this.pos + o) !== 0 : fallback;
  }

  /** Position of what a reference field points to, undefined when absent. */
  private deref(id: number): number | undefined {
    const o = this.offset(id);
    if (!o) return undefined;
    const at = this.pos + o;
    return at + this.view.getUint32(at, true);
  }

  table(id: number): Table | undefined {
    const at = this.deref(id);
    return at === undefined ? undefined : new Table(this.view, at);
  }

  string(id: number): string | undefined {
    const at = this.deref(id);
    if (at === undefined) return undefined;
    const length = this.view.getUint32(at, true);
    return Buffer.from(this.view.buffer, this.view.byteOffset + at + 4, length).toString('utf8');
  }

  /** A vector of tables. */
  tables(id: number): Table[] {
    const at = this.deref(id);
    if (at === undefined) return [];
    const length = this.view.getUint32(at, true);
    const out: Table[] = [];
    for (let i = 0; i < length; i++) {
      const element = at + 4 + 4 * i;
      out.push(new Table(this.view, element + this.view.getUint32(element, true)));
    }
    return out;
  }

  /** A vector of structs of `width` int64 fields each. */
  int64Structs(id: number, width: number): number[][] {
    const at = this.deref(id);
    if (at === undefined) return [];
    const length = this.view.getUint32(at, true);
    const out: number[][] = [];
    for (let i = 0; i < length; i++) {
      const base = at + 4 + 8 * width * i;
      const struct: number[] = [];
      for (let f = 0; f < width; f++) struct.push(Number(this.view.getBigInt64(base + 8 * f, true)));
      out.push(struct);
    }
    return out;
  }
}

// --- Schema -----------------------------------------------------------------------------------------------------

const MESSAGE_SCHEMA = 1;
const MESSAGE_DICTIONARY_BATCH = 2;
const MESSAGE_RECORD_BATCH = 3;

const TIME_UNITS = ['second', 'millisecond', 'microsecond', 'nanosecond'] as const;
const TYPE_NAMES = [
  'NONE',
  'Null',
  'Int',
  'FloatingPoint',
  'Binary',
  'Utf8',
  'Bool',
  'Decimal',
  'Date',
  'Time',
  'Timestamp',
  'Interval',
  'List',
  'Struct',
  'Union',
  'FixedSizeBinary',
  'FixedSizeList',
  'Map',
  'Duration',
  'LargeBinary',
  'LargeUtf8',
  'LargeList',
  'RunEndEncoded',
  'BinaryView',
  'Utf8View',
  'ListView',
  'LargeListView',
];

function readType(typeId: number, t: Table | undefined): ArrowType {
  switch (typeId) {
    case 1:
      return { kind: 'null' };
    case 2:
      return { kind: 'int', bitWidth: t?.int32(0) ?? 0, signed: t?.bool(1) ?? false };
    case 3:
      return { kind: 'float', precision: (['half', 'single', 'double'] as const)[t?.int16(0) ?? 0] };
    case 4:
      return { kind: 'binary', large: false };
    case 5:
      return { kind: 'utf8', large: false };
    case 6:
      return { kind: 'bool' };
    case 7:
      return { kind: 'decimal', precision: t?.int32(0) ?? 0, scale: t?.int32(1) ?? 0, bitWidth: t?.int32(2, 128) ?? 128 };
    case 8:
      return { kind: 'date', unit: (t?.int16(0, 1) ?? 1) === 0 ? 'day' : 'millisecond' };
    case 10:
      return { kind: 'timestamp', unit: TIME_UNITS[t?.int16(0) ?? 0], timezone: t?.string(1) ?? '' };
    case 12:
      return { kind: 'list', large: false };
    case 13:
      return { kind: 'struct' };
    case 16:
      return { kind: 'fixed-size-list', size: t?.int32(0) ?? 0 };
    case 17:
      return { kind: 'map' };
    case 19:
      return { kind: 'binary', large: true };
    case 20:
      return { kind: 'utf8', large: true };
    case 21:
      return { kind: 'list', large: true };
    default:
      throw new ArrowFormatError(`type ${TYPE_NAMES[typeId] ?? typeId} is not supported`);
  }
}

function readField(f: Table): ArrowField {
  if (f.table(4)) throw new ArrowFormatError(`dictionary-encoded field ${f.string(0) ?? ''} is not supported`);
  return {
    name: f.string(0) ?? '',
    nullable: f.bool(1),
    type: readType(f.uint8(2), f.table(3)),
    children: f.tables(5).map(readField),
  };
}

// --- Record batches ---------------------------------------------------------------------------------------------

interface BatchCursor {
  body: Buffer;
  nodes: number[][];
  buffers: number[][];
  node: number;
  buffer: number;
}

function nextBuffer(c: BatchCursor): Buffer {
  const spec = c.buffers[c.buffer++];
  if (!spec) throw new ArrowFormatError('record batch has fewer buffers than its schema needs');
  return c.body.subarray(spec[0], spec[0] + spec[1]);
}

type Column = (row: number) => unknown;

function validity(bitmap: Buffer, nullCount: number): (row: number) => boolean {
  if (nullCount === 0 || bitmap.length === 0) return () => true;
  return (row) => (bitmap[row >> 3] & (1 << (row & 7))) !== 0;
}

function int64At(data: Buffer, index: number, signed: boolean): number | bigint {
  const v = signed ? data.readBigInt64LE(index * 8) : data.readBigUint64LE(index * 8);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
}

function decimalAt(data: Buffer, index: number, bytes: number, scale: number): number {
  let v = 0n;
  for (let b = bytes - 1; b >= 0; b--) v = (v << 8n) | BigInt(data[index * bytes + b]);
  if (data[index * bytes + bytes - 1] & 0x80) v -= 1n << BigInt(bytes * 8);
  return Number(v) / 10 ** scale;
}

const DAY_MS = 86_400_000;
const TIMESTAMP_TO_MS = { second: 1000, millisecond: 1, microsecond: 1e-3, nanosecond: 1e-6 } as const;

/** Reads one column (and its children) from the cursor, depth first, as the IPC format lays buffers out. */
function readColumn(field: ArrowField, c: BatchCursor): Column {
  const [length, nullCount] = c.nodes[c.node++] ?? [];
  if (length === undefined) throw new ArrowFormatError('record batch has fewer field nodes than its schema');
  const t = field.type;
  if (t.kind === 'null') return () => null;
  const valid = validity(nextBuffer(c), nullCount);
  const nullable =
    (read: Column): Column =>
    (row) =>
      valid(row) ? read(row) : null;
  switch (t.kind) {
    case 'int': {
      const data = nextBuffer(c);
      const bytes = t.bitWidth / 8;
      if (bytes === 8) return nullable((row) => int64At(data, row, t.signed));
      const read =
        bytes === 1
          ? t.signed
            ? (row: number) => data.readInt8(row)
            : (row: number) => data.readUint8(row)
          : bytes === 2
            ? t.signed
              ? (row: number) => data.readInt16LE(row * 2)
              : (row: number) => data.readUint16LE(row * 2)
            : t.signed
              ? (row: number) => data.readInt32LE(row * 4)
              : (row: number) => data.readUint32LE(row * 4);
      return nullable(read);
    }
    case 'float': {
      const data = nextBuffer(c);
      if (t.precision === 'double') return nullable((row) => data.readDoubleLE(row * 8));
      if (t.precision === 'single') return nullable((row) => data.readFloatLE(row * 4));
      throw new ArrowFormatError('half-precision floats are not supported');
    }
    case 'bool': {
      const data = nextBuffer(c);
      return nullable((row) => (data[row >> 3] & (1 << (row & 7))) !== 0);
    }
    case 'decimal': {
      const data = nextBuffer(c);
      return nullable((row) => decimalAt(data, row, t.bitWidth / 8, t.scale));
    }
    case 'date': {
      const data = nextBuffer(c);
      if (t.unit === 'day') return nullable((row) => new Date(data.readInt32LE(row * 4) * DAY_MS).toISOString().slice(0, 10));
      return nullable((row) => new Date(Number(data.readBigInt64LE(row * 8))).toISOString().slice(0, 10));
    }
    case 'timestamp': {
      const data = nextBuffer(c);
      const factor = TIMESTAMP_TO_MS[t.unit];
      return nullable((row) => Math.floor(Number(data.readBigInt64LE(row * 8)) * factor));
    }
    case 'utf8':
    case 'binary': {
      const offsets = nextBuffer(c);
      const data = nextBuffer(c);
      const at = t.large ? (i: number) => Number(offsets.readBigInt64LE(i * 8)) : (i: number) => offsets.readInt32LE(i * 4);
      const slice = (row: number) => data.subarray(at(row), at(row + 1));
      return nullable(t.kind === 'utf8' ? (row) => slice(row).toString('utf8') : (row) => Buffer.from(slice(row)));
    }
    case 'list':
    case 'map': {
      const offsets = nextBuffer(c);
      const large = t.kind === 'list' && t.large;
      const at = large ? (i: number) => Number(offsets.readBigInt64LE(i * 8)) : (i: number) => offsets.readInt32LE(i * 4);
      const child = readColumn(field.children[0], c);
      if (t.kind === 'list') {
        return nullable((row) => {
          const out: unknown[] = [];
          for (let i = at(row); i < at(row + 1); i++) out.push(child(i));
          return out;
        });
      }
      return nullable((row) => {
        const out: Record<string, unknown> = {};
        for (let i = at(row); i < at(row + 1); i++) {
          const entry = child(i) as Record<string, unknown>;
          const [keyField, valueField] = field.children[0].children;
          out[String(entry[keyField.name])] = entry[valueField.name];
        }
        return out;
      });
    }
    case 'fixed-size-list': {
      const child = readColumn(field.children[0], c);
      return nullable((row) => Array.from({ length: t.size }, (_, i) => child(row * t.size + i)));
    }
    case 'struct': {
      const children = field.children.map((f) => [f.name, readColumn(f, c)] as const);
      return nullable((row) => Object.fromEntries(children.map(([name, read]) => [name, read(row)])));
    }
  }
}

// --- Stream -----------------------------------------------------------------------------------------------------

/** The schema and rows of one Arrow IPC stream. */
export interface ArrowTable {
  fields: ArrowField[];
  rows: ArrowRow[];
}

/** Decodes an Arrow IPC stream (schema, then record batches, optionally an end-of-stream marker) into rows. */
export function readArrowStream(bytes: Uint8Array): ArrowTable {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fields: ArrowField[] | undefined;
  const rows: ArrowRow[] = [];
  let pos = 0;
  while (pos + 4 <= buf.length) {
    let metadataLength = buf.readInt32LE(pos);
    pos += 4;
    if (metadataLength === -1) {
      // continuation marker, then the length (format 0.15+)
      if (pos + 4 > buf.length) break;
      metadataLength = buf.readInt32LE(pos);
      pos += 4;
    }
    if (metadataLength === 0) break; // end of stream
    if (pos + metadataLength > buf.length) throw new ArrowFormatError('message metadata runs past the end of the data');
    const metadata = buf.subarray(pos, pos + metadataLength);
    pos += metadataLength;
    const message = Table.root(new DataView(metadata.buffer, metadata.byteOffset, metadata.byteLength));
    const headerType = message.uint8(1);
    const header = message.table(2);
    const bodyLength = message.int64(3);
    const body = buf.subarray(pos, pos + bodyLength);
    pos += bodyLength;
    if (headerType === MESSAGE_SCHEMA) {
      fields = (header?.tables(1) ?? []).map(readField);
    } else if (headerType === MESSAGE_RECORD_BATCH) {
      if (!fields) throw new ArrowFormatError('record batch before the schema');
      if (!header) throw new ArrowFormatError('record batch without a header');
      if (header.table(3)) throw new ArrowFormatError('compressed record batches are not supported');
      const length = header.int64(0);
      const cursor: BatchCursor = { body, nodes: header.int64Structs(1, 2), buffers: header.int64Structs(2, 2), node: 0, buffer: 0 };
      const columns = fields.map((f) => [f.name, readColumn(f, cursor)] as const);
      for (let row = 0; row < length; row++) {
        const out: ArrowRow = {};
        for (const [name, read] of columns) out[name] = read(row);
        rows.push(out);
      }
    } else if (headerType === MESSAGE_DICTIONARY_BATCH) {
      throw new ArrowFormatError('dictionary batches are not supported');
    } else {
      throw new ArrowFormatError(`message type ${headerType} is not supported`);
    }
  }
  return { fields: fields ?? [], rows };
}
