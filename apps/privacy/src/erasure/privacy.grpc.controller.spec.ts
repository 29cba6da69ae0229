import { declaredRpcs } from '@pulse/platform';
import { undeclaredRpcs } from '@pulse/platform/testing';
import { PrivacyGrpcController } from './privacy.grpc.controller';

describe('PrivacyGrpcController scopes', () => {
  it('declares the scope of every RPC of pulse.privacy.v1.PrivacyService, and serves no RPC the proto lacks', () => {
    expect(undeclaredRpcs('pulse.privacy.v1.PrivacyService', PrivacyGrpcController)).toEqual([]);
  });

  it('lets only callers with privacy:erase (or admin) erase, and privacy:read follow the erasures', () => {
    const scopes = Object.fromEntries(declaredRpcs(PrivacyGrpcController).map((rpc) => [rpc.handler, rpc.requirement]));
    expect(scopes).toEqual({
      eraseUser: { scope: 'privacy:erase' },
      getErasure: { scope: 'privacy:read' },
      listErasures: { scope: 'privacy:read' },
    });
  });
});
