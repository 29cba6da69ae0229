import { declaredRpcs } from '@pulse/platform';
import { undeclaredRpcs } from '@pulse/platform/testing';
import { RecsGrpcController } from './recs.grpc.controller';

describe('RecsGrpcController scopes', () => {
  it('declares the scope of every RPC of pulse.recs.v1.RecsService (or @Public), and serves no RPC the proto lacks', () => {
    expect(undeclaredRpcs('pulse.recs.v1.RecsService', RecsGrpcController)).toEqual([]);
  });

  it('declares a scope on every handler it has', () => {
    expect(declaredRpcs(RecsGrpcController).filter((rpc) => !rpc.requirement)).toEqual([]);
  });
});
