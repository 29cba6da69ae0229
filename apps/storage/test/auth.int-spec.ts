import { authorisationMatrix, fuzzProblems, fuzzWithTestKey, matrixProblems } from '@pulse/platform/testing';
import { StorageGrpcController } from '../src/storage/storage.grpc.controller';
import { dropKeyspace, startStorage, type StorageTestApp } from './storage-test-app';

// One storage on its own keyspace; the matrix calls each RPC with an empty request (streams with no message).
let storage: StorageTestApp;

beforeAll(async () => {
  // Refusals are logged at warn: the matrix makes dozens on purpose.
  storage = await startStorage({ LOG_LEVEL: 'error', MEDIA_SWEEPER: 'false' });
});

afterAll(async () => {
  await storage?.close();
  if (storage) await dropKeyspace(storage.keyspace);
});

describe('authorisation of StorageService', () => {
  it('answers every RPC UNAUTHENTICATED without credentials, PERMISSION_DENIED with another scope, and for itself with its scope', async () => {
    const rows = await authorisationMatrix({
      address: storage.running.grpcAddress,
      protoFile: 'pulse/storage/v1/storage_service.proto',
      service: 'pulse.storage.v1.StorageService',
      controller: StorageGrpcController,
      pgUrl: storage.running.config.PULSE_AUTH_PG_URL,
    });
    expect(rows.length).toBeGreaterThanOrEqual(18);
    expect(matrixProblems(rows)).toEqual([]);
    // The streaming RPCs are guarded like the unary ones.
    expect(rows.find((r) => r.rpc.endsWith('/PutMedia'))).toMatchObject({ scope: 'storage:write', none: 'UNAUTHENTICATED' });
    expect(rows.find((r) => r.rpc.endsWith('/GetMedia'))).toMatchObject({ scope: 'storage:read', wrong: 'PERMISSION_DENIED' });
    expect(rows.find((r) => r.rpc.endsWith('/DeleteMedia'))).toMatchObject({ scope: 'admin' });
  });

  it('answers generated and malformed requests to every RPC with client errors, never INTERNAL or UNKNOWN, and stays up (tools/fuzz, short)', async () => {
    expect(
      fuzzProblems(
        await fuzzWithTestKey({
          address: storage.running.grpcAddress,
          protoFile: 'pulse/storage/v1/storage_service.proto',
          service: 'pulse.storage.v1.StorageService',
          pgUrl: storage.running.config.PULSE_AUTH_PG_URL,
        }),
      ),
    ).toEqual([]);
  }, 900_000);
});
