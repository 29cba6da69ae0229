import { declaredRpcs } from '@pulse/platform';
import { undeclaredRpcs } from '@pulse/platform/testing';
import { TrackEventsGrpcController } from './track-events.grpc.controller';

describe('TrackEventsGrpcController scopes', () => {
  it('declares the scope of every RPC of pulse.ingest.v1.IngestService (or @Public), and serves no RPC the proto lacks', () => {
    expect(undeclaredRpcs('pulse.ingest.v1.IngestService', TrackEventsGrpcController)).toEqual([]);
  });

  it('declares a scope on every handler it has', () => {
    expect(declaredRpcs(TrackEventsGrpcController).filter((rpc) => !rpc.requirement)).toEqual([]);
  });
});
