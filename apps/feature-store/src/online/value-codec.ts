import { type featuresV1, millisToTimestamp, type ProtoTimestamp, timestampToMillis } from '@pulse/contracts';
import type { ValueTypeName } from '../registry/definitions';

type FeatureValue = featuresV1.FeatureValue;

/** The FeatureValue field of each declared type. */
export const VALUE_FIELD: Record<ValueTypeName, keyof FeatureValue> = {
  int32: 'int32Value',
  int64: 'int64Value',
  float: 'floatValue',
  double: 'doubleValue',
  string: 'stringValue',
  bool: 'boolValue',
  bytes: 'bytesValue',
  timestamp: 'timestampValue',
  int64_list: 'int64ListValue',
  float_list: 'floatListValue',
  double_list: 'doubleListValue',
  string_list: 'stringListValue',
};

const FIELDS = Object.values(VALUE_FIELD);

/** A value as plain JS: number, string, boolean, Buffer, Date (ms), arrays; null for null. */
export type PlainValue = number | string | boolean | Buffer | number[] | string[] | null;

/** The value's set field (proto-loader's `kind` when present, else the first set member); undefined = null. */
export function valueKind(value: unknown): keyof FeatureValue | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const kind = v['kind'];
  if (typeof kind === 'string') return kind as keyof FeatureValue;
  for (const f of FIELDS) if (v[f] !== undefined && v[f] !== null) return f;
  return undefined;
}

/**
 * Checks a decoded FeatureValue against a declared type and returns it as a plain value (null when
 * unset); a string describing the mismatch otherwise.
 */
export function plainFromProto(value: unknown, type: ValueTypeName): PlainValue | { error: string } {
  const kind = valueKind(value);
  if (kind === undefined) return null;
  const want = VALUE_FIELD[type];
  if (kind !== want) return { error: `is ${kind}, the declared type is ${type} (${want})` };
  const raw = (value as Record<string, unknown>)[kind];
  switch (type) {
    case 'int32':
    case 'int64':
      return Number(raw);
    case 'float':
    case 'double':
      return Number(raw);
    case 'string':
      return String(raw);
    case 'bool':
      return Boolean(raw);
    case 'bytes':
      return Buffer.from(raw as Uint8Array);
    case 'timestamp':
      return timestampToMillis(raw as ProtoTimestamp);
    case 'int64_list':
    case 'float_list':
    case 'double_list':
      return ((raw as { values?: unknown[] }).values ?? []).map(Number);
    case 'string_list':
      return ((raw as { values?: unknown[] }).values ?? []).map(String);
  }
}

/** A plain value as a FeatureValue message of the declared type ({} for null). */
export function protoFromPlain(value: PlainValue, type: ValueTypeName): FeatureValue {
  if (value === null) return {};
  switch (type) {
    case 'timestamp':
      return { timestampValue: millisToTimestamp(value as number) };
    case 'int64_list':
    case 'float_list':
    case 'double_list':
    case 'string_list':
      return { [VALUE_FIELD[type]]: { values: value } } as FeatureValue;
    default:
      return { [VALUE_FIELD[type]]: value } as FeatureValue;
  }
}

/** Redis encoding of null: a lone NUL (strings starting with NUL get one more NUL in front). */
export const NULL_CELL = '\u0000';

/**
 * A plain value as the string stored in its Redis hash field: numbers in decimal, booleans 1/0, bytes in
 * base64, timestamps as ms, lists as JSON.
 */
export function encodeCell(value: PlainValue, type: ValueTypeName): string {
  if (value === null) return NULL_CELL;
  switch (type) {
    case 'string': {
      const s = value as string;
      return s.startsWith(NULL_CELL) ? NULL_CELL + s : s;
    }
    case 'bool':
      return value ? '1' : '0';
    case 'bytes':
      return (value as Buffer).toString('base64');
    case 'int64_list':
    case 'float_list':
    case 'double_list':
    case 'string_list':
      return JSON.stringify(value);
    default:
      return String(value);
  }
}

/** The inverse of encodeCell, straight to the response's FeatureValue (hot path of GetOnlineFeatures). */
export function decodeCell(cell: string, type: ValueTypeName): FeatureValue | null {
  if (cell === NULL_CELL) return null;
  switch (type) {
    case 'int32':
      return { int32Value: Number(cell) };
    case 'int64':
      return { int64Value: Number(cell) };
    case 'float':
      return { floatValue: Number(cell) };
    case 'double':
      return { doubleValue: Number(cell) };
    case 'string':
      return { stringValue: cell.startsWith(NULL_CELL) ? cell.slice(1) : cell };
    case 'bool':
      return { boolValue: cell === '1' };
    case 'bytes':
      return { bytesValue: Buffer.from(cell, 'base64') };
    case 'timestamp':
      return protoFromPlain(Number(cell), 'timestamp');
    default:
      return protoFromPlain(JSON.parse(cell) as PlainValue, type);
  }
}

/** Checks a plain value (from a lake row or an aggregate) against a type; converts what is safe to convert. */
export function coercePlain(value: unknown, type: ValueTypeName): PlainValue | { error: string } {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'int32':
    case 'int64': {
      const n = typeof value === 'bigint' ? Number(value) : value;
      return typeof n === 'number' && Number.isInteger(n) ? n : { error: `${String(value)} is not an integer` };
    }
    case 'float':
    case 'double': {
      const n = typeof value === 'bigint' ? Number(value) : value;
      return typeof n === 'number' ? n : { error: `${String(value)} is not a number` };
    }
    case 'string':
      return typeof value === 'string' ? value : { error: `${typeof value} is not a string` };
    case 'bool':
      return typeof value === 'boolean' ? value : { error: `${typeof value} is not a boolean` };
    case 'bytes':
      return value instanceof Uint8Array ? Buffer.from(value) : { error: 'not bytes' };
    case 'timestamp':
      if (value instanceof Date) return value.getTime();
      if (typeof value === 'bigint') return Number(value);
      return typeof value === 'number' ? value : { error: 'not a timestamp' };
    case 'string_list':
      return Array.isArray(value) ? value.map(String) : { error: 'not a list' };
    case 'int64_list':
      return Array.isArray(value) && value.every((x) => Number.isInteger(Number(x)))
        ? value.map(Number)
        : { error: 'not a list of integers' };
    default:
      return Array.isArray(value) ? value.map(Number) : { error: 'not a list' };
  }
}
