import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

let cached: string | undefined;

/**
 * Finds a file or folder of the repository (`proto/buf.yaml`, `apps/storage/migrations`, ...) by walking
 * up from this module and then from the working directory; undefined when neither leads to it.
 * Runtime assets of a built app (dist/) are found this way in a checkout and by an env variable in an image.
 */
export function findUpwards(relativePath: string): string | undefined {
  for (const start of [__dirname, process.cwd()]) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (existsSync(join(dir, relativePath))) return join(dir, relativePath);
      if (dirname(dir) === dir) break;
    }
  }
  return undefined;
}

/**
 * The folder holding the .proto files (the repo's proto/, or PULSE_PROTO_DIR in an image).
 * gRPC servers load their services from it at runtime.
 */
export function protoRoot(): string {
  if (cached) return cached;
  const fromEnv = process.env['PULSE_PROTO_DIR'];
  if (fromEnv) return (cached = resolve(fromEnv));
  const found = findUpwards('proto/buf.yaml');
  if (!found) throw new Error('cannot find the proto/ folder: set PULSE_PROTO_DIR');
  return (cached = dirname(found));
}

/** Absolute path of a proto file given relative to proto/, e.g. `pulse/ingest/v1/ingest_service.proto`. */
export function protoFile(relativePath: string): string {
  return join(protoRoot(), relativePath);
}

/** The FileDescriptorSet of every contract, compiled by `buf build` (served by gRPC server reflection). */
export function descriptorSetFile(): string {
  return join(protoRoot(), 'descriptor_set.binpb');
}
