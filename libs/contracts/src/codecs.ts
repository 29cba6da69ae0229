import { BinaryWriter } from '@bufbuild/protobuf/wire';

/** Turns a Kafka key or value into bytes and back. Every topic declares one for its key and one for its value. */
export interface Codec<T> {
  /** Media type of the encoded bytes (documentation and tooling; not sent per record). */
  readonly contentType: string;
  encode(value: T): Buffer;
  decode(bytes: Buffer): T;
}

/** A ts-proto generated message type (its static encode/decode). */
export interface ProtoMessageType<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: Uint8Array): T;
}

export const utf8Codec: Codec<string> = {
  contentType: 'text/plain; charset=utf-8',
  encode: (value) => Buffer.from(value, 'utf8'),
  decode: (bytes) => bytes.toString('utf8'),
};

/** Bytes as they are: dead letters keep the original key and value of a record unchanged. */
export const bytesCodec: Codec<Buffer> = {
  contentType: 'application/octet-stream',
  encode: (value) => value,
  decode: (bytes) => bytes,
};

/** JSON values, as Debezium's JsonConverter writes them (schemas disabled). */
export function jsonCodec<T>(): Codec<T> {
  return {
    contentType: 'application/json',
    encode: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
    decode: (bytes) => JSON.parse(bytes.toString('utf8')) as T,
  };
}

/**
 * Protobuf binary, with the fully-qualified message name in the content type. Encoding reuses one
 * writer (encoding is synchronous): its buffer grows once to the largest record instead of being
 * allocated and regrown for every record; `finish()` returns an exact-size copy and resets it.
 */
export function protoCodec<T>(type: ProtoMessageType<T>, fullName: string): Codec<T> {
  const writer = new BinaryWriter();
  return {
    contentType: `application/x-protobuf; messageType=${fullName}`,
    encode: (value) => {
      const bytes = type.encode(value, writer).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    decode: (bytes) => type.decode(bytes),
  };
}
