import {
  context,
  type Context,
  createContextKey,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { contextFromHeaders, failSpan, isTracingOn, platformTracer, traceHeaders } from '../telemetry/trace-context';

/** At most this many producer traces of one batch get a span of the batch's handling in their own trace. */
const MAX_PARENT_SPANS = 32;

/** In a batch's handling: the span of each producer trace's handling (and its headers, once asked), by `traceparent`. */
const HANDLING_SPANS = createContextKey('pulse.kafka.handling-spans');

interface HandlingSpan {
  span: Span;
  headers?: Record<string, string>;
}

/**
 * The W3C trace headers a record derived from a consumed one should carry: the span of the source record's handling
 * (a child of its producer's span), so the derived record's consumers join the source's trace. Undefined outside a
 * handler, without tracing or for a source without trace context (or past the batch's first 32 traces).
 */
export function derivedTraceHeaders(source: Record<string, string>): Record<string, string> | undefined {
  const traceparent = source['traceparent'];
  if (traceparent === undefined) return undefined;
  const handling = (context.active().getValue(HANDLING_SPANS) as ReadonlyMap<string, HandlingSpan> | undefined)?.get(traceparent);
  if (!handling) return undefined;
  // Every window update of one trace in a batch shares the headers, made once.
  handling.headers ??= traceHeaders(trace.setSpan(ROOT_CONTEXT, handling.span));
  return handling.headers;
}

/**
 * Runs `send` inside a producer span (`send <topics>`) and hands it the W3C trace context each record carries in its
 * headers, so that the consumers' spans join the producer's trace. Without tracing, and for a trace that is not
 * sampled, `send` gets no headers: every record would otherwise carry ~55 bytes of `traceparent`, encoded record by
 * record, for nine calls in ten that nobody records (sampling 0.1). The cost: the consumers of an unsampled call's
 * records do not learn its decision, and their own sampler may record their handling as a trace of its own.
 */
export async function tracedSend<T>(
  topics: readonly string[],
  count: number,
  send: (headers: Record<string, string>) => Promise<T>,
): Promise<T> {
  if (!isTracingOn()) return send({});
  const span = platformTracer().startSpan(`send ${topics.join(',')}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.destination.name': topics.join(','),
      'messaging.batch.message_count': count,
    },
  });
  if (!span.isRecording()) {
    span.end();
    return send({});
  }
  try {
    const result = await send(traceHeaders(trace.setSpan(context.active(), span)));
    span.end();
    return result;
  } catch (error) {
    failSpan(span, error);
    throw error;
  }
}

export interface TracedRecord {
  topic: string;
  headers: Record<string, string>;
}

/**
 * Runs the handling of a consumed batch inside consumer spans. The records' producers may belong to many traces; each
 * of them (up to 32 a batch) gets a `process <topic>` span as a child of the producer's span, so a request's trace
 * shows every consumer that handled its records. The handler runs with one span active: that child span when the
 * batch came from one trace, else a `process <group>` span of its own with links to the producers' spans. Its store
 * calls and writes then belong to that span; a record it sends derived from one of the batch's records
 * (`OutgoingRecord.derivedFrom`) belongs to that record's trace (derivedTraceHeaders).
 */
export async function tracedHandle<T>(group: string, records: readonly TracedRecord[], handle: () => Promise<T>): Promise<T> {
  if (records.length === 0 || !isTracingOn()) return handle();
  const parents = new Map<string, { ctx: Context; topic: string; count: number }>();
  for (const record of records) {
    if (!record.headers.traceparent) continue;
    const known = parents.get(record.headers.traceparent);
    if (known) known.count++;
    else if (parents.size < MAX_PARENT_SPANS)
      parents.set(record.headers.traceparent, { ctx: contextFromHeaders(record.headers), topic: record.topic, count: 1 });
  }
  const topics = [...new Set(records.map((r) => r.topic))].join(',');
  const attributes = (topic: string, count: number) => ({
    'messaging.system': 'kafka',
    'messaging.operation.type': 'process',
    'messaging.destination.name': topic,
    'messaging.consumer.group.name': group,
    'messaging.batch.message_count': count,
  });
  const spans: Span[] = [];
  const byParent = new Map<string, HandlingSpan>();
  for (const [traceparent, parent] of parents) {
    const span = platformTracer().startSpan(
      `process ${parent.topic}`,
      { kind: SpanKind.CONSUMER, attributes: attributes(parent.topic, parent.count) },
      parent.ctx,
    );
    spans.push(span);
    byParent.set(traceparent, { span });
  }
  let main: Span;
  if (spans.length === 1) main = spans[0];
  else {
    const links: Link[] = [];
    for (const parent of parents.values()) {
      const linked = trace.getSpanContext(parent.ctx);
      if (linked) links.push({ context: linked });
    }
    main = platformTracer().startSpan(`process ${group}`, {
      kind: SpanKind.CONSUMER,
      root: true,
      links,
      attributes: attributes(topics, records.length),
    });
    spans.push(main);
  }
  try {
    const result = await context.with(trace.setSpan(context.active(), main).setValue(HANDLING_SPANS, byParent), handle);
    for (const span of spans) span.end();
    return result;
  } catch (error) {
    for (const span of spans) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      span.end();
    }
    throw error;
  }
}
