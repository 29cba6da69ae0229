import { context, type Context, isSpanContextValid, type Link, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { contextFromHeaders, failSpan, isTracingOn, platformTracer, traceHeaders } from '../telemetry/trace-context';

/** At most this many producer traces of one batch get a span of the batch's handling in their own trace. */
const MAX_PARENT_SPANS = 32;

/**
 * Runs `send` inside a producer span (`send <topics>`) and hands it the W3C trace context each record carries in its
 * headers, so that the consumers' spans join the producer's trace. Without tracing, `send` gets no headers.
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
  if (!isSpanContextValid(span.spanContext())) return send({});
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
 * calls and writes then belong to that span.
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
  for (const parent of parents.values())
    spans.push(
      platformTracer().startSpan(
        `process ${parent.topic}`,
        { kind: SpanKind.CONSUMER, attributes: attributes(parent.topic, parent.count) },
        parent.ctx,
      ),
    );
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
    const result = await context.with(trace.setSpan(context.active(), main), handle);
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
