import { Controller, UseFilters } from '@nestjs/common';
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { ingestV1 } from '@pulse/contracts';
import { GrpcExceptionFilter } from '@pulse/platform';
import { TrackEventsService } from './track-events.service';

/** pulse.ingest.v1.IngestService over gRPC. */
@Controller()
@UseFilters(GrpcExceptionFilter)
@ingestV1.IngestServiceControllerMethods()
export class TrackEventsGrpcController implements ingestV1.IngestServiceController {
  constructor(private readonly service: TrackEventsService) {}

  trackEvents(request: ingestV1.TrackEventsRequest, _metadata?: unknown, call?: ServerUnaryCall<unknown, unknown>) {
    return this.service.track(request.events ?? [], { clientId: request.clientId ?? '', sourceIp: peerIp(call) });
  }

  validateEvents(request: ingestV1.ValidateEventsRequest, _metadata?: unknown, call?: ServerUnaryCall<unknown, unknown>) {
    return this.service.validate(request.events ?? [], { clientId: request.clientId ?? '', sourceIp: peerIp(call) });
  }
}

/** `127.0.0.1:5000`, `ipv4:127.0.0.1:5000` or `[::1]:5000` → the address alone. */
export function peerIp(call?: ServerUnaryCall<unknown, unknown>): string {
  const peer = call?.getPeer?.() ?? '';
  const match = /^(?:ipv[46]:)?\[?([^\]]+?)\]?:\d+$/.exec(peer);
  return match ? match[1] : '';
}
