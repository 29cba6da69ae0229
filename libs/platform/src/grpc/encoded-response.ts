import type { PackageDefinition } from '@grpc/proto-loader';

/**
 * A response already in protobuf wire format. A handler on a hot path (GetOnlineFeatures) writes its answer with
 * the generated ts-proto writer, or straight from bytes it keeps, instead of building message objects that
 * proto-loader would convert (`fromObject`) and encode again on every call. Every Pulse server accepts such
 * bytes as the response of any unary or streaming method (see acceptEncodedResponses).
 */
export type EncodedResponse = Buffer & { readonly __encodedResponse: true };

/** Marks `bytes` as the encoded response message `T` of a handler whose signature returns `T`. */
export function encodedResponse<T>(bytes: Uint8Array): T {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as T;
}

type MethodDefinition = { path?: string; responseSerialize?: (value: unknown) => Buffer };

/**
 * Lets every method of the services in a package definition answer with bytes already encoded: a Uint8Array
 * response goes to the wire as it is, anything else through the method's own serializer. Called on the package
 * definition before the server registers its services (Nest's onLoadPackageDefinition).
 */
export function acceptEncodedResponses(definition: PackageDefinition): void {
  for (const service of Object.values(definition)) {
    for (const method of Object.values(service as Record<string, MethodDefinition>)) {
      if (!method || typeof method !== 'object' || typeof method.path !== 'string' || !method.responseSerialize) continue;
      const serialize = method.responseSerialize;
      if ((serialize as { acceptsEncoded?: true }).acceptsEncoded) continue;
      const wrapped = (value: unknown): Buffer =>
        value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : serialize(value);
      method.responseSerialize = Object.assign(wrapped, { acceptsEncoded: true as const });
    }
  }
}
