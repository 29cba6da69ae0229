import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { context, isSpanContextValid, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { protoFile } from '@pulse/contracts';
import { authorizationHeader } from '../auth/authenticator';
import { platformTracer, traceHeaders } from '../telemetry/trace-context';
import { channelTarget } from './channel-target';
import { PROTO_LOADER_OPTIONS } from './health-reflection';
import { channelCredentials, type GrpcTlsSettings } from './tls';

/** Unary methods of a service, promisified: `client.call('TrackEvents', request)`. */
export interface UnaryClient {
  call<Res = any>(method: string, request: unknown, options?: { deadlineMs?: number; metadata?: grpc.Metadata }): Promise<Res>;
  readonly raw: grpc.Client;
  /** Fresh metadata carrying this client's credentials, for calls made on `raw` (streaming RPCs). */
  metadata(): grpc.Metadata;
  close(): void;
}

export interface GrpcClientOptions {
  channelOptions?: grpc.ChannelOptions;
  /**
   * The caller's credentials, an API key (`pk_...`) or a JWT, sent as `authorization: Bearer ...` metadata on every
   * call (gRPC's per-call credentials); empty or absent: none are sent.
   */
  credentials?: string;
  /** TLS towards the server (verified against `caFile`; with this side's certificate for mTLS); absent: plaintext. */
  tls?: GrpcTlsSettings;
}

/**
 * A plain grpc-js client for a Pulse service, loaded from its proto like any external client would.
 * Used by integration tests, benchmarks and tools; services talk to peers through it too. `address` is one
 * `host:port` or several IP `host:port`s with round robin over them (`channelTarget`). While tracing is on, each
 * call is a client span whose W3C trace context goes to the server in the metadata (`traceparent`).
 */
export function grpcClient(address: string, relativeProtoFile: string, serviceName: string, options: GrpcClientOptions = {}): UnaryClient {
  const definition = protoLoader.loadSync(protoFile(relativeProtoFile), PROTO_LOADER_OPTIONS);
  const ctor = serviceName.split('.').reduce<any>((node, part) => node?.[part], grpc.loadPackageDefinition(definition));
  if (typeof ctor !== 'function') throw new Error(`service ${serviceName} not found in ${relativeProtoFile}`);
  const { target, options: targetOptions } = channelTarget(address);
  const client: grpc.Client = new ctor(target, channelCredentials(options.tls), { ...targetOptions, ...options.channelOptions });
  const authorization = options.credentials ? authorizationHeader(options.credentials) : undefined;
  const withCredentials = (given?: grpc.Metadata) => {
    const metadata = given?.clone() ?? new grpc.Metadata();
    if (authorization && metadata.get('authorization').length === 0 && metadata.get('x-api-key').length === 0)
      metadata.set('authorization', authorization);
    return metadata;
  };
  return {
    raw: client,
    metadata: () => withCredentials(),
    call(method, request, callOptions = {}) {
      const fn = (client as any)[method];
      if (typeof fn !== 'function') return Promise.reject(new Error(`no method ${method} on ${serviceName}`));
      const deadline = Date.now() + (callOptions.deadlineMs ?? 30_000);
      const metadata = withCredentials(callOptions.metadata);
      const span = platformTracer().startSpan(`${serviceName}/${method}`, {
        kind: SpanKind.CLIENT,
        attributes: { 'rpc.system': 'grpc', 'rpc.service': serviceName, 'rpc.method': method, 'server.address': address },
      });
      const traced = isSpanContextValid(span.spanContext());
      if (traced) for (const [key, value] of Object.entries(traceHeaders(trace.setSpan(context.active(), span)))) metadata.set(key, value);
      return new Promise((resolve, reject) =>
        fn.call(client, request, metadata, { deadline }, (error: grpc.ServiceError | null, response: any) => {
          if (traced) {
            span.setAttribute('rpc.grpc.status_code', error ? error.code : grpc.status.OK);
            if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: `${grpc.status[error.code]}: ${error.details}` });
            span.end();
          }
          return error ? reject(error) : resolve(response);
        }),
      );
    },
    close: () => client.close(),
  };
}
