import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoFile } from '@pulse/contracts';
import { PROTO_LOADER_OPTIONS } from './health-reflection';

/** Unary methods of a service, promisified: `client.call('TrackEvents', request)`. */
export interface UnaryClient {
  call<Res = any>(method: string, request: unknown, options?: { deadlineMs?: number; metadata?: grpc.Metadata }): Promise<Res>;
  readonly raw: grpc.Client;
  close(): void;
}

/**
 * A plain grpc-js client for a Pulse service, loaded from its proto like any external client would.
 * Used by integration tests, benchmarks and tools; services talk to peers through it too.
 */
export function grpcClient(
  address: string,
  relativeProtoFile: string,
  serviceName: string,
  channelOptions: grpc.ChannelOptions = {},
): UnaryClient {
  const definition = protoLoader.loadSync(protoFile(relativeProtoFile), PROTO_LOADER_OPTIONS);
  const ctor = serviceName.split('.').reduce<any>((node, part) => node?.[part], grpc.loadPackageDefinition(definition));
  if (typeof ctor !== 'function') throw new Error(`service ${serviceName} not found in ${relativeProtoFile}`);
  const client: grpc.Client = new ctor(address, grpc.credentials.createInsecure(), channelOptions);
  return {
    raw: client,
    call(method, request, options = {}) {
      const fn = (client as any)[method];
      if (typeof fn !== 'function') return Promise.reject(new Error(`no method ${method} on ${serviceName}`));
      const deadline = Date.now() + (options.deadlineMs ?? 30_000);
      return new Promise((resolve, reject) =>
        fn.call(client, request, options.metadata ?? new grpc.Metadata(), { deadline }, (error: grpc.ServiceError | null, response: any) =>
          error ? reject(error) : resolve(response),
        ),
      );
    },
    close: () => client.close(),
  };
}
