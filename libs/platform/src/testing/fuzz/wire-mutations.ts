import fc from 'fast-check';
import * as protobuf from 'protobufjs';

/** Writes a varint. */
function varint(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

const tag = (field: number, wireType: number) => varint(field * 8 + wireType);

/** Bytes that are not UTF-8: a lone continuation byte, an overlong form, a surrogate half, bytes no UTF-8 has. */
const INVALID_UTF8 = [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff, 0xfe, 0xfd], [0xf4, 0x90, 0x80, 0x80], [0x61, 0xc3]];

/**
 * Raw requests built around a valid encoding `base` of `type`: what no well-behaved client sends, and what a server
 * must answer with a client error, never with a crash or INTERNAL.
 * - a string field carrying bytes that are not UTF-8,
 * - a field with a wire type its declaration does not have,
 * - a length prefix beyond the end, a cut-off message, flipped bytes, random bytes,
 * - unknown groups nested thousands deep (a recursive decoder's stack),
 * - a message field nested in itself as deep as the bytes allow (for recursive types).
 */
export function wireMutationArbitrary(type: protobuf.Type, base: Uint8Array): fc.Arbitrary<Uint8Array> {
  type.resolveAll();
  const fields = type.fieldsArray;
  const strings = fields.filter((f) => f.type === 'string');
  const options: fc.Arbitrary<Uint8Array>[] = [
    // random bytes
    fc.uint8Array({ minLength: 1, maxLength: 256 }),
    // a cut-off message
    fc.integer({ min: 0, max: Math.max(0, base.length - 1) }).map((n) => base.slice(0, n)),
    // a few flipped bytes
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
      const out = Uint8Array.from(base.length > 0 ? base : [0]);
      for (const [at, mask] of flips) out[at % out.length] ^= mask;
      return out;
    }),
    // a length prefix far beyond the end of the message
    fc
      .integer({ min: 1, max: 536_870_911 })
      .map((field) => Uint8Array.from([...base, ...tag(Math.min(field, 536_870_911), 2), 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])),
    // unknown groups nested deep: start-group tags without their ends, then the ends
    fc.integer({ min: 1_000, max: 100_000 }).map((depth) => {
      const open = tag(19_999, 3);
      const close = tag(19_999, 4);
      const out = new Uint8Array(base.length + depth * (open.length + close.length));
      out.set(base, 0);
      let at = base.length;
      for (let i = 0; i < depth; i++, at += open.length) out.set(open, at);
      for (let i = 0; i < depth; i++, at += close.length) out.set(close, at);
      return out;
    }),
  ];
  if (strings.length > 0) {
    // a declared string field holding bytes that are not UTF-8
    options.push(
      fc
        .tuple(fc.constantFrom(...strings), fc.constantFrom(...INVALID_UTF8))
        .map(([field, bad]) => Uint8Array.from([...base, ...tag(field.id, 2), ...varint(bad.length), ...bad])),
    );
  }
  if (fields.length > 0) {
    // a declared field with every wire type but its own (varint, 64-bit, length-delimited, 32-bit)
    options.push(
      fc.tuple(fc.constantFrom(...fields), fc.constantFrom(0, 1, 2, 5)).map(([field, wire]) => {
        const body = wire === 0 ? [0x96, 0x01] : wire === 1 ? [1, 2, 3, 4, 5, 6, 7, 8] : wire === 5 ? [1, 2, 3, 4] : [3, 0x61, 0x62, 0x63];
        return Uint8Array.from([...base, ...tag(field.id, wire), ...body]);
      }),
    );
  }
  const recursive = fields.find((f) => f.resolve().resolvedType === type && !f.repeated);
  if (recursive) {
    // the type nested in itself, thousands deep
    options.push(
      fc.integer({ min: 500, max: 20_000 }).map((depth) => {
        // Lengths from the innermost level out, then the bytes from the outermost level in.
        const fieldTag = tag(recursive.id, 2);
        const lengths = [0];
        for (let i = 0; i < depth; i++) lengths.push(lengths[i] + fieldTag.length + varint(lengths[i]).length);
        const out: number[] = [];
        for (let i = depth - 1; i >= 0; i--) out.push(...fieldTag, ...varint(lengths[i]));
        return Uint8Array.from(out);
      }),
    );
  }
  return fc.oneof(...options);
}
