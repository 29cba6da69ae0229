import { authorisationMatrix, fuzzProblems, fuzzWithTestKey, matrixProblems } from '@pulse/platform/testing';
import { createApp, type RunningApp } from '../src/app.factory';
import { CdcGrpcController } from '../src/capture/cdc.grpc.controller';
import { CdcTestEnv } from './support/cdc-test-env';

// One cdc on its own schema, slot and topics; the matrix calls each RPC with an empty request.
let env: CdcTestEnv;
let running: RunningApp;

beforeAll(async () => {
  env = await CdcTestEnv.create();
  // Refusals are logged at warn: the matrix makes dozens on purpose.
  running = await createApp(env.settings({ CDC_SNAPSHOT_MODE: 'no_data', LOG_LEVEL: 'error' }));
});

afterAll(async () => {
  await running?.close();
  await env?.dispose();
});

describe('authorisation of CdcService', () => {
  it('answers every RPC UNAUTHENTICATED without credentials, PERMISSION_DENIED with another scope, and for itself with its scope', async () => {
    const rows = await authorisationMatrix({
      address: running.grpcAddress,
      protoFile: 'pulse/cdc/v1/cdc_service.proto',
      service: 'pulse.cdc.v1.CdcService',
      controller: CdcGrpcController,
      pgUrl: running.config.PULSE_AUTH_PG_URL,
    });
    expect(rows.length).toBeGreaterThanOrEqual(6);
    expect(matrixProblems(rows)).toEqual([]);
    expect(rows.find((r) => r.rpc.endsWith('/PauseCapture'))).toMatchObject({ scope: 'admin', right: 'OK' });
    expect(rows.find((r) => r.rpc.endsWith('/GetStatus'))).toMatchObject({ scope: 'ops:read', right: 'OK' });
  });

  it('answers generated and malformed requests to every RPC with client errors, never INTERNAL or UNKNOWN, and stays up (tools/fuzz, short)', async () => {
    expect(
      fuzzProblems(
        await fuzzWithTestKey({
          address: running.grpcAddress,
          protoFile: 'pulse/cdc/v1/cdc_service.proto',
          service: 'pulse.cdc.v1.CdcService',
          pgUrl: running.config.PULSE_AUTH_PG_URL,
        }),
      ),
    ).toEqual([]);
  }, 900_000);
});
