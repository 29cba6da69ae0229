import { declaredRpcs } from '@pulse/platform';
import { undeclaredRpcs } from '@pulse/platform/testing';
import { CdcGrpcController } from './cdc.grpc.controller';

describe('CdcGrpcController scopes', () => {
  it('declares the scope of every RPC of pulse.cdc.v1.CdcService (or @Public), and serves no RPC the proto lacks', () => {
    expect(undeclaredRpcs('pulse.cdc.v1.CdcService', CdcGrpcController)).toEqual([]);
  });

  it('declares a scope on every handler it has', () => {
    expect(declaredRpcs(CdcGrpcController).filter((rpc) => !rpc.requirement)).toEqual([]);
  });
});
