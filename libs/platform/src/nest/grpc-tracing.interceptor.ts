import { status } from '@grpc/grpc-js';
import type { Metadata } from '@grpc/grpc-js';
import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { context as otelContext, isSpanContextValid, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Observable } from 'rxjs';
import { contextFromHeaders, platformTracer } from '../telemetry/trace-context';

/**
 * A server span per gRPC call, child of the caller's span when its metadata carries W3C trace context
 * (`traceparent`); the handler runs with that span active, so its Kafka writes, store calls and logs belong to the
 * call's trace. Named after the full method (`pulse.ingest.v1.IngestService/TrackEvents`). A no-op while tracing is off.
 */
@Injectable()
export class GrpcTracingInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const rpc = context.switchToRpc();
    const metadata = rpc.getContext<Metadata | undefined>();
    const call = context.getArgByIndex(2) as { getPath?: () => string } | undefined;
    const path = call?.getPath?.() ?? `${context.getClass().name}/${context.getHandler().name}`;
    const [service, method] = path.replace(/^\//, '').split('/');
    const parent = contextFromHeaders(metadataHeaders(metadata));
    const span = platformTracer().startSpan(
      path.replace(/^\//, ''),
      { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method } },
      parent,
    );
    // Tracing off: nothing to carry.
    if (!isSpanContextValid(span.spanContext())) return next.handle();
    const active = trace.setSpan(parent, span);
    return new Observable((subscriber) =>
      otelContext.with(active, () =>
        next.handle().subscribe({
          next: (value) => subscriber.next(value),
          complete: () => {
            span.setAttribute('rpc.grpc.status_code', status.OK);
            span.end();
            subscriber.complete();
          },
          error: (error: { code?: number; message?: string }) => {
            const code = typeof error?.code === 'number' ? error.code : status.INTERNAL;
            span.setAttribute('rpc.grpc.status_code', code);
            span.setStatus({ code: SpanStatusCode.ERROR, message: `${status[code]}: ${error?.message ?? ''}` });
            span.end();
            subscriber.error(error);
          },
        }),
      ),
    );
  }
}

function metadataHeaders(metadata: Metadata | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!metadata || typeof metadata.get !== 'function') return headers;
  for (const key of ['traceparent', 'tracestate']) {
    const value = metadata.get(key)[0];
    if (value !== undefined) headers[key] = value.toString();
  }
  return headers;
}
