import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

let cached: string | undefined;

/**
 * The folder holding the .proto files (the repo's proto/, or PULSE_PROTO_DIR in an image).
 * gRPC servers load their services from it at runtime; found by walking up from this module.
 */
export function protoRoot(): string {
  if (cached) return cached;
  const fromEnv = process.env['PULSE_PROTO_DIR'];
  if (fromEnv) return (cached = resolve(fromEnv));
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'proto', 'buf.yaml'))) return (cached = join(dir, 'proto'));
    if (dirname(dir) === dir) break;
  }
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'proto', 'buf.yaml'))) return (cached = join(dir, 'proto'));
    if (dirname(dir) === dir) break;
  }
  throw new Error('cannot find the proto/ folder: set PULSE_PROTO_DIR');
}

/** Absolute path of a proto file given relative to proto/, e.g. `pulse/ingest/v1/ingest_service.proto`. */
export function protoFile(relativePath: string): string {
  return join(protoRoot(), relativePath);
}

/** The FileDescriptorSet of every contract, compiled by `buf build` (served by gRPC server reflection). */
export function descriptorSetFile(): string {
  return join(protoRoot(), 'descriptor_set.binpb');
}
