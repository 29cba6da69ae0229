import { declaredRpcs } from '@pulse/platform';
import { undeclaredRpcs } from '@pulse/platform/testing';
import { EtlGrpcController } from './etl.grpc.controller';

describe('EtlGrpcController scopes', () => {
  it('declares the scope of every RPC of pulse.etl.v1.EtlService (or @Public), and serves no RPC the proto lacks', () => {
    expect(undeclaredRpcs('pulse.etl.v1.EtlService', EtlGrpcController)).toEqual([]);
  });

  it('declares a scope on every handler it has', () => {
    expect(declaredRpcs(EtlGrpcController).filter((rpc) => !rpc.requirement)).toEqual([]);
  });
});
