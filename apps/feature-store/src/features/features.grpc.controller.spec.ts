import { declaredRpcs } from '@pulse/platform';
import { undeclaredRpcs } from '@pulse/platform/testing';
import { FeaturesGrpcController } from './features.grpc.controller';

describe('FeaturesGrpcController scopes', () => {
  it('declares the scope of every RPC of pulse.features.v1.FeaturesService (or @Public), and serves no RPC the proto lacks', () => {
    expect(undeclaredRpcs('pulse.features.v1.FeaturesService', FeaturesGrpcController)).toEqual([]);
  });

  it('declares a scope on every handler it has', () => {
    expect(declaredRpcs(FeaturesGrpcController).filter((rpc) => !rpc.requirement)).toEqual([]);
  });
});
