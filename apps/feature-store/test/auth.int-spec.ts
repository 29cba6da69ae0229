import { authorisationMatrix, fuzzProblems, fuzzWithTestKey, matrixProblems } from '@pulse/platform/testing';
import { FeaturesGrpcController } from '../src/features/features.grpc.controller';
import { FeatureStoreWorld } from './feature-store-test-app';

// One feature store on its own schema, key prefix and lake; the matrix calls each RPC with an empty request.
// Refusals are logged at warn: the matrix makes dozens on purpose.
const world = new FeatureStoreWorld({ LOG_LEVEL: 'error' });

beforeAll(async () => {
  await world.start();
});

afterAll(() => world.dispose());

describe('authorisation of FeaturesService', () => {
  it('answers every RPC UNAUTHENTICATED without credentials, PERMISSION_DENIED with another scope, and for itself with its scope', async () => {
    const rows = await authorisationMatrix({
      address: world.app!.grpcAddress,
      protoFile: 'pulse/features/v1/features_service.proto',
      service: 'pulse.features.v1.FeaturesService',
      controller: FeaturesGrpcController,
      pgUrl: world.app!.config.PULSE_AUTH_PG_URL,
    });
    expect(rows.length).toBeGreaterThanOrEqual(10);
    expect(matrixProblems(rows)).toEqual([]);
    expect(rows.find((r) => r.rpc.endsWith('/Push'))).toMatchObject({ scope: 'features:write' });
  });

  it('answers generated and malformed requests to every RPC with client errors, never INTERNAL or UNKNOWN, and stays up (tools/fuzz, short)', async () => {
    expect(
      fuzzProblems(
        await fuzzWithTestKey({
          address: world.app!.grpcAddress,
          protoFile: 'pulse/features/v1/features_service.proto',
          service: 'pulse.features.v1.FeaturesService',
          pgUrl: world.app!.config.PULSE_AUTH_PG_URL,
        }),
      ),
    ).toEqual([]);
  }, 900_000);
});
