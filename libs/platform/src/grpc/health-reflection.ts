import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoFile, protoRoot } from '@pulse/contracts';
import type { HealthRegistry } from '../health/health.registry';
import { addServerReflection } from './server-reflection';

const SERVING = 'SERVING';
const NOT_SERVING = 'NOT_SERVING';
const SERVICE_UNKNOWN = 'SERVICE_UNKNOWN';
const WATCH_INTERVAL_MS = 2_000;

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: Number,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
  includeDirs: [protoRoot()],
};

/**
 * Registers grpc.health.v1.Health (answering from the readiness checks) and server reflection
 * (for `serviceNames` plus Health; unless `reflection` is false) on a grpc-js server, so that
 * `grpcurl -plaintext host:port list` and Kubernetes' gRPC probes work against every Pulse service. Both are
 * served beside the Nest handlers: no credentials are needed for them.
 */
export function addHealthAndReflection(
  server: grpc.Server,
  health: HealthRegistry,
  serviceNames: readonly string[],
  options: { reflection?: boolean } = {},
): void {
  const healthDefinition = protoLoader.loadSync(protoFile('grpc/health/v1/health.proto'), PROTO_LOADER_OPTIONS);
  const healthPackage = grpc.loadPackageDefinition(healthDefinition) as any;
  const known = new Set(['', ...serviceNames]);

  const statusOf = async (service: string): Promise<string> => {
    if (!known.has(service)) return SERVICE_UNKNOWN;
    return (await health.readiness()).ready ? SERVING : NOT_SERVING;
  };

  server.addService(healthPackage.grpc.health.v1.Health.service, {
    check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const service = call.request.service ?? '';
      if (!known.has(service)) {
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${service}"` });
        return;
      }
      statusOf(service).then(
        (s) => callback(null, { status: s }),
        (error) => callback({ code: grpc.status.INTERNAL, details: String(error) }),
      );
    },
    watch: (call: grpc.ServerWritableStream<{ service: string }, unknown>) => {
      const service = call.request.service ?? '';
      let last: string | undefined;
      const push = async () => {
        const current = await statusOf(service);
        if (current !== last && !call.cancelled) {
          last = current;
          call.write({ status: current });
        }
      };
      void push();
      const timer = setInterval(() => void push(), WATCH_INTERVAL_MS);
      const stop = () => clearInterval(timer);
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
  });

  if (options.reflection ?? true) addServerReflection(server, serviceNames);
}
