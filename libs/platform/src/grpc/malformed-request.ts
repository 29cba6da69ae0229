import { status } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { GrpcStatusError } from './grpc-status.error';

const MALFORMED = Symbol('pulse.malformedRequest');

/** What a server's handlers receive in place of a request whose bytes are not a valid message of its type. */
export interface MalformedRequest {
  readonly [MALFORMED]: string;
}

type MethodDefinition = { path?: string; requestDeserialize?: (bytes: Buffer) => unknown };

/**
 * Makes bytes that do not decode as a method's request type reach the handler chain as a `MalformedRequest`
 * instead of failing inside grpc-js, which answers such a call INTERNAL ("Error deserializing request"), a server
 * fault, for what is the caller's. The platform's MalformedRequestInterceptor answers it INVALID_ARGUMENT with the
 * decoder's reason before any handler runs. Called on the package definition with acceptEncodedResponses.
 */
export function acceptMalformedRequests(definition: PackageDefinition): void {
  for (const service of Object.values(definition)) {
    for (const method of Object.values(service as Record<string, MethodDefinition>)) {
      if (!method || typeof method !== 'object' || typeof method.path !== 'string' || !method.requestDeserialize) continue;
      const deserialize = method.requestDeserialize;
      if ((deserialize as { acceptsMalformed?: true }).acceptsMalformed) continue;
      const wrapped = (bytes: Buffer): unknown => {
        try {
          return deserialize(bytes);
        } catch (error) {
          return { [MALFORMED]: error instanceof Error ? error.message : String(error) } satisfies MalformedRequest;
        }
      };
      method.requestDeserialize = Object.assign(wrapped, { acceptsMalformed: true as const });
    }
  }
}

/** INVALID_ARGUMENT for a request that did not decode; undefined for any other value. */
export function malformedRequestError(request: unknown): GrpcStatusError | undefined {
  if (typeof request !== 'object' || request === null || !(MALFORMED in request)) return undefined;
  const reason = (request as MalformedRequest)[MALFORMED];
  return new GrpcStatusError(status.INVALID_ARGUMENT, `the request is not a valid protobuf message of the method's type: ${reason}`);
}
