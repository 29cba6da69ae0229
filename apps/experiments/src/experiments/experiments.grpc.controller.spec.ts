import { declaredRpcs } from '@pulse/platform';
import { undeclaredRpcs } from '@pulse/platform/testing';
import { ExperimentsGrpcController } from './experiments.grpc.controller';

describe('ExperimentsGrpcController scopes', () => {
  it('declares the scope of every RPC of pulse.experiments.v1.ExperimentsService, and serves no RPC the proto lacks', () => {
    expect(undeclaredRpcs('pulse.experiments.v1.ExperimentsService', ExperimentsGrpcController)).toEqual([]);
  });

  it('lets readers see experiments and results, and only operators change them', () => {
    const scopes = Object.fromEntries(declaredRpcs(ExperimentsGrpcController).map((rpc) => [rpc.handler, rpc.requirement]));
    expect(scopes).toEqual({
      createExperiment: { scope: 'admin' },
      startExperiment: { scope: 'admin' },
      stopExperiment: { scope: 'admin' },
      getExperiment: { scope: 'experiments:read' },
      listExperiments: { scope: 'experiments:read' },
      getResults: { scope: 'experiments:read' },
    });
  });
});
