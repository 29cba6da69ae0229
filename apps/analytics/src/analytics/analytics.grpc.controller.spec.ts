import { declaredRpcs } from '@pulse/platform';
import { undeclaredRpcs } from '@pulse/platform/testing';
import { AnalyticsGrpcController } from './analytics.grpc.controller';

describe('AnalyticsGrpcController scopes', () => {
  it('declares the scope of every RPC of pulse.analytics.v1.AnalyticsService, and serves no RPC the proto lacks', () => {
    expect(undeclaredRpcs('pulse.analytics.v1.AnalyticsService', AnalyticsGrpcController)).toEqual([]);
  });

  it('lets operators read jobs, runs and outputs, and only admins start a run', () => {
    const scopes = Object.fromEntries(declaredRpcs(AnalyticsGrpcController).map((rpc) => [rpc.handler, rpc.requirement]));
    expect(scopes).toEqual({
      listJobs: { scope: 'ops:read' },
      getJobRun: { scope: 'ops:read' },
      listJobRuns: { scope: 'ops:read' },
      readJobOutput: { scope: 'ops:read' },
      runJob: { scope: 'admin' },
    });
  });
});
