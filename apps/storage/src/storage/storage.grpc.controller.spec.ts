import { declaredRpcs } from '@pulse/platform';
import { undeclaredRpcs } from '@pulse/platform/testing';
import { StorageGrpcController } from './storage.grpc.controller';

describe('StorageGrpcController scopes', () => {
  it('declares the scope of every RPC of pulse.storage.v1.StorageService (or @Public), and serves no RPC the proto lacks', () => {
    expect(undeclaredRpcs('pulse.storage.v1.StorageService', StorageGrpcController)).toEqual([]);
  });

  it('declares a scope on every handler it has', () => {
    expect(declaredRpcs(StorageGrpcController).filter((rpc) => !rpc.requirement)).toEqual([]);
  });
});
