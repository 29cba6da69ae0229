import { decodeCell, encodeCell, NULL_CELL, plainFromProto } from './value-codec';

describe('online value cells', () => {
  it.each([
    ['int64', 42, { int64Value: 42 }],
    ['double', 0.1, { doubleValue: 0.1 }],
    ['bool', false, { boolValue: false }],
    ['string', 'héllo', { stringValue: 'héllo' }],
    ['string', `${NULL_CELL}x`, { stringValue: `${NULL_CELL}x` }],
    ['double_list', [1.5, 2], { doubleListValue: { values: [1.5, 2] } }],
    ['timestamp', 1_700_000_000_123, { timestampValue: { seconds: 1_700_000_000, nanos: 123_000_000 } }],
  ] as const)('round-trips a %s value', (type, plain, proto) => {
    expect(decodeCell(encodeCell(plain as never, type), type)).toEqual(proto);
  });

  it('tells null apart from an empty string', () => {
    expect(decodeCell(encodeCell(null, 'string'), 'string')).toBeNull();
    expect(decodeCell(encodeCell('', 'string'), 'string')).toEqual({ stringValue: '' });
  });

  it('refuses a value of another type than declared, and reads an unset value as null', () => {
    expect(plainFromProto({ stringValue: '1', kind: 'stringValue' }, 'int64')).toEqual({
      error: 'is stringValue, the declared type is int64 (int64Value)',
    });
    expect(plainFromProto({}, 'int64')).toBeNull();
    expect(plainFromProto({ int64Value: 5 }, 'int64')).toBe(5);
  });
});
