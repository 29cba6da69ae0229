import type { PackageDefinition } from '@grpc/proto-loader';

const REQUEST_BYTES = Symbol('pulse.requestBytes');

type MethodDefinition = { path?: string; requestDeserialize?: (bytes: Buffer) => unknown };

/**
 * Lets the handlers of the named methods (`TrackEvents`) read the bytes their request was decoded from
 * (`requestBytesOf`), so a service that forwards parts of a request as they came (ingest writes each event's bytes to
 * Kafka) need not encode them again. The bytes hang on the decoded request, not enumerable: nothing else sees them.
 * Called on the package definition after acceptMalformedRequests.
 */
export function keepRequestBytes(definition: PackageDefinition, methods: readonly string[]): void {
  if (methods.length === 0) return;
  for (const service of Object.values(definition)) {
    for (const method of Object.values(service as Record<string, MethodDefinition>)) {
      if (!method || typeof method !== 'object' || typeof method.path !== 'string' || !method.requestDeserialize) continue;
      if (!methods.includes(method.path.slice(method.path.lastIndexOf('/') + 1))) continue;
      const deserialize = method.requestDeserialize;
      if ((deserialize as { keepsBytes?: true }).keepsBytes) continue;
      const wrapped = (bytes: Buffer): unknown => {
        const request = deserialize(bytes);
        if (typeof request === 'object' && request !== null) Object.defineProperty(request, REQUEST_BYTES, { value: bytes });
        return request;
      };
      method.requestDeserialize = Object.assign(wrapped, { keepsBytes: true as const });
    }
  }
}

/** The bytes a request was decoded from, for a method named to keepRequestBytes; otherwise undefined. */
export function requestBytesOf(request: unknown): Buffer | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  return (request as { [REQUEST_BYTES]?: Buffer })[REQUEST_BYTES];
}
