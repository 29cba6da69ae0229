// The contracts as a plain gRPC client loads them (the services' own proto-loader options), for the
// benchmarks and tools. Run by Node 24 with type stripping: erasable TypeScript only, npm packages only.
import protoLoader from '@grpc/proto-loader';
import { join, resolve } from 'node:path';

export const PROTO_DIR = join(resolve(import.meta.dirname, '../../..'), 'proto');

/** Loads a proto file given relative to proto/, e.g. `pulse/ingest/v1/ingest_service.proto`. */
export function loadProto(relativePath: string): protoLoader.PackageDefinition {
  return protoLoader.loadSync(join(PROTO_DIR, relativePath), {
    keepCase: false,
    longs: Number,
    enums: Number,
    defaults: true,
    oneofs: true,
    includeDirs: [PROTO_DIR],
  });
}
