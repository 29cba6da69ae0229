import { declaredRpcs } from '@pulse/platform';
import { undeclaredRpcs } from '@pulse/platform/testing';
import { SimulatorGrpcController } from './simulator.grpc.controller';

describe('SimulatorGrpcController scopes', () => {
  it('declares the scope of every RPC of pulse.simulator.v1.SimulatorService, and serves no RPC the proto lacks', () => {
    expect(undeclaredRpcs('pulse.simulator.v1.SimulatorService', SimulatorGrpcController)).toEqual([]);
  });

  it('lets operators read the status, and only admins change the rate', () => {
    const scopes = Object.fromEntries(declaredRpcs(SimulatorGrpcController).map((rpc) => [rpc.handler, rpc.requirement]));
    expect(scopes).toEqual({ getStatus: { scope: 'ops:read' }, setRate: { scope: 'admin' } });
  });
});
