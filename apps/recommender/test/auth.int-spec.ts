import { authorisationMatrix, fuzzProblems, fuzzWithTestKey, matrixProblems } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type RunningApp } from '../src/app.factory';
import { RecsGrpcController } from '../src/serving/recs.grpc.controller';

// One recommender with an empty registry of its own, its own Redis prefix and groups; the matrix calls each RPC
// with an empty request.
const dir = mkdtempSync(join(tmpdir(), 'recs-auth-'));
const run = randomUUID().replace(/-/g, '').slice(0, 10);
let running: RunningApp;

beforeAll(async () => {
  running = await createApp({
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    // Refusals are logged at warn: the matrix makes dozens on purpose.
    LOG_LEVEL: 'error',
    RECS_MODELS_DIR: join(dir, 'models'),
    RECS_REDIS_PREFIX: `pulse:recs:t:${run}:`,
    RECS_LIVE_GROUP: `recommender-live-t-${run}`,
    RECS_CATALOG_GROUP: `recommender-catalog-t-${run}`,
    RECS_CDC_SCHEMA: `recs_t_${run}`,
  });
}, 120_000);

afterAll(async () => {
  await running?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('authorisation of RecsService', () => {
  it('answers every RPC UNAUTHENTICATED without credentials, PERMISSION_DENIED with another scope, and for itself with its scope', async () => {
    const rows = await authorisationMatrix({
      address: running.grpcAddress,
      protoFile: 'pulse/recs/v1/recs_service.proto',
      service: 'pulse.recs.v1.RecsService',
      controller: RecsGrpcController,
      pgUrl: running.config.PULSE_AUTH_PG_URL,
    });
    expect(rows.length).toBeGreaterThanOrEqual(7);
    expect(matrixProblems(rows)).toEqual([]);
    expect(rows.find((r) => r.rpc.endsWith('/PromoteModel'))).toMatchObject({ scope: 'admin', wrong: 'PERMISSION_DENIED' });
  });

  it('answers generated and malformed requests to every RPC with client errors, never INTERNAL or UNKNOWN, and stays up (tools/fuzz, short)', async () => {
    expect(
      fuzzProblems(
        await fuzzWithTestKey({
          address: running.grpcAddress,
          protoFile: 'pulse/recs/v1/recs_service.proto',
          service: 'pulse.recs.v1.RecsService',
          pgUrl: running.config.PULSE_AUTH_PG_URL,
        }),
      ),
    ).toEqual([]);
  }, 900_000);
});
