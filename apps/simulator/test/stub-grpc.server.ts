import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoFile } from '@pulse/contracts';
import { PROTO_LOADER_OPTIONS } from '@pulse/platform';

export interface StubServer {
  address: string;
  close(): Promise<void>;
}

/**
 * A gRPC server of one Pulse service (loaded from its proto, as grpc-js clients load it) answering with the
 * given unary handlers, on a free port: a stand-in for a peer in integration tests.
 */
export async function startStubServer(
  relativeProtoFile: string,
  serviceName: string,
  handlers: Record<string, (request: any) => Promise<unknown>>,
): Promise<StubServer> {
  const definition = protoLoader.loadSync(protoFile(relativeProtoFile), PROTO_LOADER_OPTIONS);
  const service = serviceName.split('.').reduce<any>((node, part) => node[part], grpc.loadPackageDefinition(definition)).service;
  const server = new grpc.Server();
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [method, handle] of Object.entries(handlers)) {
    implementation[method] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      handle(call.request).then(
        (response) => callback(null, response),
        (error: Partial<grpc.ServiceError>) => callback({ code: error.code ?? grpc.status.INTERNAL, details: error.message ?? '' }),
      );
    };
  }
  server.addService(service, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    address: `127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
