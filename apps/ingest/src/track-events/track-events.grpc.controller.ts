import { Controller, UseFilters } from '@nestjs/common';
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { ingestV1 } from '@pulse/contracts';
import { GrpcExceptionFilter, principalOf, requestBytesOf, RequiresScope } from '@pulse/platform';
import { eventBytesOf } from './event-bytes';
import { type BatchContext, TrackEventsService } from './track-events.service';

/** pulse.ingest.v1.IngestService over gRPC. */
@Controller()
@UseFilters(GrpcExceptionFilter)
@ingestV1.IngestServiceControllerMethods()
export class TrackEventsGrpcController implements ingestV1.IngestServiceController {
  constructor(private readonly service: TrackEventsService) {}

  @RequiresScope('events:write')
  trackEvents(request: ingestV1.TrackEventsRequest, _metadata?: unknown, call?: ServerUnaryCall<unknown, unknown>) {
    const events = request.events ?? [];
    return this.service.track(
      events,
      { ...batchContext(request.clientId, call), omitAcceptedResults: request.omitAcceptedResults === true },
      eventBytesOf(requestBytesOf(request), events.length),
    );
  }

  @RequiresScope('events:write')
  validateEvents(request: ingestV1.ValidateEventsRequest, _metadata?: unknown, call?: ServerUnaryCall<unknown, unknown>) {
    return this.service.validate(request.events ?? [], batchContext(request.clientId, call));
  }
}

/**
 * Who sent the batch: the caller's principal (the API key's client or the JWT's subject), whatever the request's
 * client_id says; the request's client_id only when authentication is off and there is no principal to trust.
 */
export function batchContext(requestedClientId: string | undefined, call?: ServerUnaryCall<unknown, unknown>): BatchContext {
  const principal = principalOf(call);
  const authenticated = principal !== undefined && principal.kind !== 'anonymous';
  return {
    clientId: authenticated ? principal.id : (requestedClientId ?? ''),
    clientIdFromRequest: !authenticated,
    sourceIp: peerIp(call),
  };
}

/** `127.0.0.1:5000`, `ipv4:127.0.0.1:5000` or `[::1]:5000` → the address alone. */
export function peerIp(call?: ServerUnaryCall<unknown, unknown>): string {
  const peer = call?.getPeer?.() ?? '';
  const match = /^(?:ipv[46]:)?\[?([^\]]+?)\]?:\d+$/.exec(peer);
  return match ? match[1] : '';
}
