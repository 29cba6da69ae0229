import fc from 'fast-check';
import * as protobuf from 'protobufjs';

/**
 * Strings a service must refuse or store as plain text, never interpret: injection into SQL, CQL, DuckDB, shells,
 * paths, templates and logs, control characters, and sizes around the usual limits.
 */
const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\u0000\u0001\u001f\u007f',
  '\r\n\r\n',
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '"; DROP KEYSPACE pulse; --',
  "x') UNION SELECT * FROM read_text('/proc/self/environ') --",
  "read_text('/proc/self/environ')",
  '../../../../etc/passwd',
  '..',
  '/',
  '%2e%2e%2f%2e%2e%2f',
  'C:\\Windows\\system32',
  '${jndi:ldap://127.0.0.1/x}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '$(reboot)',
  '`id`',
  '\u202e\u0645\u0631\u062d\u0628\u0627',
  '\ud83d\ude00'.repeat(200),
  'a'.repeat(256),
  'a'.repeat(4_097),
  'x'.repeat(70_000),
  '9'.repeat(40),
  '-1',
  'NaN',
  'null',
  'true',
  '1e309',
  '2038-01-19T03:14:08Z',
  '0001-01-01T00:00:00Z',
];

const INT32 = [0, 1, -1, 2, 127, 128, 255, 256, 65_535, 2 ** 31 - 1, -(2 ** 31)];
const UINT32 = [0, 1, 2, 255, 65_535, 2 ** 31 - 1, 2 ** 32 - 1];
const INT64 = ['0', '1', '-1', '9007199254740993', '9223372036854775807', '-9223372036854775808'];
const UINT64 = ['0', '1', '9007199254740993', '18446744073709551615'];
const DOUBLES = [0, -0, 1, -1, 0.5, 1e-300, 1e300, Number.MAX_VALUE, -Number.MAX_VALUE, Infinity, -Infinity, NaN];

function stringArbitrary(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
    { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
  );
}

function scalarArbitrary(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return stringArbitrary();
    case 'bytes':
      return fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.constant(new Uint8Array(0)),
        fc.integer({ min: 1_000, max: 200_000 }).map((n) => new Uint8Array(n).fill(0xab)),
      );
    case 'bool':
      return fc.boolean();
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return fc.oneof(fc.constantFrom(...INT32), fc.integer());
    case 'uint32':
    case 'fixed32':
      return fc.oneof(fc.constantFrom(...UINT32), fc.nat());
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return fc.oneof(fc.constantFrom(...INT64), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String));
    case 'uint64':
    case 'fixed64':
      return fc.oneof(fc.constantFrom(...UINT64), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String));
    case 'double':
    case 'float':
      return fc.oneof(fc.constantFrom(...DOUBLES), fc.double());
    default:
      throw new Error(`no arbitrary for the scalar type ${type}`);
  }
}

function valueArbitrary(field: protobuf.FieldBase, depth: number): fc.Arbitrary<unknown> {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Enum) {
    const values = Object.values(resolved.values);
    // Known values mostly, and numbers no version of the enum defines.
    return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 10_000 }) });
  }
  if (resolved instanceof protobuf.Type) return messageArbitrary(resolved, depth + 1);
  return scalarArbitrary(field.type);
}

/** A small value of a field's type: the element of huge repeated fields. */
function smallArbitrary(field: protobuf.FieldBase): fc.Arbitrary<unknown> {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) return fc.constant({});
  if (resolved instanceof protobuf.Enum) return fc.constantFrom(...Object.values(resolved.values));
  if (field.type === 'string') return fc.string({ maxLength: 8 });
  if (field.type === 'bytes') return fc.uint8Array({ maxLength: 8 });
  return scalarArbitrary(field.type);
}

/**
 * Generated messages of a protobuf type, as plain objects `Type.fromObject` accepts: every field absent or holding
 * a boundary, hostile or random value; repeated fields empty, short or (rarely) thousands long; maps with odd keys;
 * enums with undefined numbers; nested messages down to `maxDepth` levels.
 */
export function messageArbitrary(type: protobuf.Type, depth = 0, maxDepth = 4): fc.Arbitrary<Record<string, unknown>> {
  if (depth > maxDepth) return fc.constant({});
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  type.resolveAll();
  for (const field of type.fieldsArray) {
    if (field instanceof protobuf.MapField) {
      const key =
        field.keyType === 'string' ? stringArbitrary().filter((k) => k.length < 1_000) : scalarArbitrary(field.keyType).map(String);
      shape[field.name] = fc.dictionary(key as fc.Arbitrary<string>, valueArbitrary(field, depth), { maxKeys: 6 });
    } else if (field.repeated) {
      shape[field.name] = fc.oneof(
        { weight: 6, arbitrary: fc.array(valueArbitrary(field, depth), { maxLength: depth === 0 ? 6 : 2 }) },
        // Huge repeated fields: a small element thousands of times (well under the 8 MiB message limit).
        {
          weight: 1,
          arbitrary: fc.tuple(smallArbitrary(field), fc.integer({ min: 1_000, max: 20_000 })).map(([e, n]) => new Array(n).fill(e)),
        },
      );
    } else {
      shape[field.name] = valueArbitrary(field, depth);
    }
  }
  return fc.record(shape, { requiredKeys: [] });
}

/** The wire bytes of a generated message (`fromObject` then `encode`), or undefined when protobufjs refuses the object. */
export function encodeMessage(type: protobuf.Type, value: Record<string, unknown>): Uint8Array | undefined {
  try {
    return type.encode(type.fromObject(value)).finish();
  } catch {
    return undefined;
  }
}
