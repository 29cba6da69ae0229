import { declaredRpcs } from '@pulse/platform';
import { undeclaredRpcs } from '@pulse/platform/testing';
import { LogsGrpcController } from './logs.grpc.controller';

describe('LogsGrpcController scopes', () => {
  it('declares the scope of every RPC of pulse.logs.v1.LogsService, and serves no RPC the proto lacks', () => {
    expect(undeclaredRpcs('pulse.logs.v1.LogsService', LogsGrpcController)).toEqual([]);
  });

  it("lets operators' readers search the log lines and read the indexer's status", () => {
    const scopes = Object.fromEntries(declaredRpcs(LogsGrpcController).map((rpc) => [rpc.handler, rpc.requirement]));
    expect(scopes).toEqual({ searchLogs: { scope: 'ops:read' }, getStatus: { scope: 'ops:read' } });
  });
});
