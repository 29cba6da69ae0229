import { aggregateTopic } from '@pulse/contracts';
import { authorisationMatrix, fuzzProblems, fuzzWithTestKey, matrixProblems } from '@pulse/platform/testing';
import { rm } from 'node:fs/promises';
import { EtlGrpcController } from '../src/operations/etl.grpc.controller';
import { type EtlTestApp, newRun, startEtl, testKafka } from './etl-test-kit';

// One etl on its own topics, groups and lake; the matrix calls each RPC with an empty request.
const run = newRun();
let etl: EtlTestApp;

const kafka = testKafka('auth');

beforeAll(async () => {
  await kafka.admin.ensureTopics([run.activityTopic, run.lateTopic]);
  // Refusals are logged at warn: the matrix makes dozens on purpose.
  etl = await startEtl(run, { LOG_LEVEL: 'error', ETL_SERVED_TOPIC: '' });
});

afterAll(async () => {
  await etl?.close();
  const aggregates = ['post_engagement_1h', 'user_actions_1h', 'user_sessions'].map((a) => aggregateTopic(`${run.id}_${a}`).name);
  await kafka.admin.deleteTopics([run.activityTopic.name, run.lateTopic.name, ...aggregates]).catch(() => undefined);
  await kafka.close();
  await rm(run.lakeRoot, { recursive: true, force: true });
});

describe('authorisation of EtlService', () => {
  it('answers every RPC UNAUTHENTICATED without credentials, PERMISSION_DENIED with another scope, and for itself with its scope', async () => {
    const rows = await authorisationMatrix({
      address: etl.running.grpcAddress,
      protoFile: 'pulse/etl/v1/etl_service.proto',
      service: 'pulse.etl.v1.EtlService',
      controller: EtlGrpcController,
      pgUrl: etl.running.config.PULSE_AUTH_PG_URL,
    });
    expect(rows.length).toBeGreaterThanOrEqual(8);
    expect(matrixProblems(rows)).toEqual([]);
    expect(rows.find((r) => r.rpc.endsWith('/VacuumTable'))).toMatchObject({ scope: 'admin', right: 'INVALID_ARGUMENT' });
  });

  it('answers generated and malformed requests to every RPC with client errors, never INTERNAL or UNKNOWN, and stays up (tools/fuzz, short)', async () => {
    expect(
      fuzzProblems(
        await fuzzWithTestKey({
          address: etl.running.grpcAddress,
          protoFile: 'pulse/etl/v1/etl_service.proto',
          service: 'pulse.etl.v1.EtlService',
          pgUrl: etl.running.config.PULSE_AUTH_PG_URL,
        }),
      ),
    ).toEqual([]);
  }, 900_000);
});
