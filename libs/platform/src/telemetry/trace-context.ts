import {
  context,
  type Context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';

let tracingOn = false;

/** Whether this process records spans (set by `startTracing`); the platform's span code costs nothing while it is not. */
export function isTracingOn(): boolean {
  return tracingOn;
}

export function setTracingOn(on: boolean): void {
  tracingOn = on;
}

/** The tracer of the platform's own spans (gRPC server and client, Kafka); a no-op until tracing is started. */
export function platformTracer(): Tracer {
  return trace.getTracer('@pulse/platform');
}

/** W3C trace context (`traceparent`, `tracestate`) of `ctx` (default: the active one), as headers. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The context a caller sent in headers (gRPC metadata, Kafka record headers); the root context when none. */
export function contextFromHeaders(headers: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(ROOT_CONTEXT, headers, {
    keys: (carrier) => Object.keys(carrier),
    get: (carrier, key) => {
      const value = carrier[key];
      return Array.isArray(value) ? value[0] : value;
    },
  });
}

/** The trace and span ids of the active span, for log lines; undefined when nothing is traced. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const ids = span.spanContext();
  return isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : undefined;
}

/** Ends `span` with an error status and the exception recorded. */
export function failSpan(span: Span, error: unknown, code?: string): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: code ?? (error instanceof Error ? error.message : String(error)) });
  span.end();
}
