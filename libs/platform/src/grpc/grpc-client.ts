import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoFile } from '@pulse/contracts';
import { authorizationHeader } from '../auth/authenticator';
import { PROTO_LOADER_OPTIONS } from './health-reflection';

/** Unary methods of a service, promisified: `client.call('TrackEvents', request)`. */
export interface UnaryClient {
  call<Res = any>(method: string, request: unknown, options?: { deadlineMs?: number; metadata?: grpc.Metadata }): Promise<Res>;
  readonly raw: grpc.Client;
  /** Fresh metadata carrying this client's credentials, for calls made on `raw` (streaming RPCs). */
  metadata(): grpc.Metadata;
  close(): void;
}

export interface GrpcClientOptions {
  channelOptions?: grpc.ChannelOptions;
  /**
   * The caller's credentials, an API key (`pk_...`) or a JWT, sent as `authorization: Bearer ...` metadata on every
   * call (gRPC's per-call credentials); empty or absent: none are sent.
   */
  credentials?: string;
}

/**
 * A plain grpc-js client for a Pulse service, loaded from its proto like any external client would.
 * Used by integration tests, benchmarks and tools; services talk to peers through it too.
 */
export function grpcClient(address: string, relativeProtoFile: string, serviceName: string, options: GrpcClientOptions = {}): UnaryClient {
  const definition = protoLoader.loadSync(protoFile(relativeProtoFile), PROTO_LOADER_OPTIONS);
  const ctor = serviceName.split('.').reduce<any>((node, part) => node?.[part], grpc.loadPackageDefinition(definition));
  if (typeof ctor !== 'function') throw new Error(`service ${serviceName} not found in ${relativeProtoFile}`);
  const client: grpc.Client = new ctor(address, grpc.credentials.createInsecure(), options.channelOptions ?? {});
  const authorization = options.credentials ? authorizationHeader(options.credentials) : undefined;
  const withCredentials = (given?: grpc.Metadata) => {
    const metadata = given?.clone() ?? new grpc.Metadata();
    if (authorization && metadata.get('authorization').length === 0 && metadata.get('x-api-key').length === 0)
      metadata.set('authorization', authorization);
    return metadata;
  };
  return {
    raw: client,
    metadata: () => withCredentials(),
    call(method, request, callOptions = {}) {
      const fn = (client as any)[method];
      if (typeof fn !== 'function') return Promise.reject(new Error(`no method ${method} on ${serviceName}`));
      const deadline = Date.now() + (callOptions.deadlineMs ?? 30_000);
      const metadata = withCredentials(callOptions.metadata);
      return new Promise((resolve, reject) =>
        fn.call(client, request, metadata, { deadline }, (error: grpc.ServiceError | null, response: any) =>
          error ? reject(error) : resolve(response),
        ),
      );
    },
    close: () => client.close(),
  };
}
