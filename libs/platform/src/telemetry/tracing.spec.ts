import * as grpc from '@grpc/grpc-js';
import { context, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { Topics } from '@pulse/contracts';
import { lastValueFrom, of, throwError } from 'rxjs';
import { derivedTraceHeaders, tracedHandle, tracedSend } from '../kafka/kafka-tracing';
import { createLogger } from '../logging/logger';
import { GrpcTracingInterceptor } from '../nest/grpc-tracing.interceptor';
import { startTelemetry } from './telemetry';
import { platformTracer, traceHeaders } from './trace-context';
import { startTracing, type Tracing } from './tracing';

describe('tracing', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;

  beforeAll(() => {
    tracing = startTracing({
      service: 'test',
      otlpUrl: 'http://127.0.0.1:1/v1/traces',
      sampleRatio: 1,
      processor: new SimpleSpanProcessor({ exporter }),
    });
  });
  afterAll(() => tracing.shutdown());
  beforeEach(() => exporter.reset());

  const spans = () => exporter.getFinishedSpans();

  it('puts the producer span context in the record headers and the consumers handling in the same trace', async () => {
    const root = platformTracer().startSpan('pulse.ingest.v1.IngestService/TrackEvents', { kind: SpanKind.SERVER });
    let headers: Record<string, string> = {};
    await context.with(trace.setSpan(context.active(), root), () =>
      tracedSend([Topics.activityTracked.name], 2, async (h) => {
        headers = h;
      }),
    );
    root.end();
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    let inner: string | undefined;
    await tracedHandle(
      'storage',
      [
        { topic: Topics.activityTracked.name, headers },
        { topic: Topics.activityTracked.name, headers },
      ],
      async () => {
        inner = trace.getActiveSpan()?.spanContext().spanId;
      },
    );
    const send = spans().find((s) => s.name === `send ${Topics.activityTracked.name}`)!;
    const process = spans().find((s) => s.name === `process ${Topics.activityTracked.name}`)!;
    expect(send.spanContext().traceId).toBe(root.spanContext().traceId);
    expect(process.spanContext().traceId).toBe(root.spanContext().traceId);
    expect(process.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.attributes['messaging.consumer.group.name']).toBe('storage');
    expect(process.attributes['messaging.batch.message_count']).toBe(2);
    expect(inner).toBe(process.spanContext().spanId);
  });

  it('puts no trace headers on the records of a call whose trace is not sampled, and records no span of it', async () => {
    const unsampled = trace.setSpanContext(context.active(), {
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      traceFlags: TraceFlags.NONE,
      isRemote: true,
    });
    let headers: Record<string, string> | undefined;
    await context.with(unsampled, () =>
      tracedSend([Topics.activityTracked.name], 1000, async (h) => {
        headers = h;
      }),
    );
    expect(headers).toEqual({});
    expect(spans()).toHaveLength(0);
  });

  it('handles a batch of several traces in a span of its own, linked to each, and marks each trace', async () => {
    const a = platformTracer().startSpan('a');
    const b = platformTracer().startSpan('b');
    const records = [a, b].map((s) => ({ topic: 't', headers: traceHeaders(trace.setSpan(context.active(), s)) }));
    await tracedHandle('etl-bronze', records, async () => undefined);
    const batch = spans().find((s) => s.name === 'process etl-bronze')!;
    expect(batch.links.map((l) => l.context.spanId).sort()).toEqual([a, b].map((s) => s.spanContext().spanId).sort());
    const perTrace = spans().filter((s) => s.name === 'process t');
    expect(perTrace.map((s) => s.spanContext().traceId).sort()).toEqual([a, b].map((s) => s.spanContext().traceId).sort());
  });

  it('puts a record derived from one of a mixed batch in the trace of its source, under the handling span of that trace', async () => {
    const a = platformTracer().startSpan('a');
    const b = platformTracer().startSpan('b');
    const [ra, rb] = [a, b].map((s) => ({ topic: 't', headers: traceHeaders(trace.setSpan(context.active(), s)) }));
    let derived: Record<string, string> | undefined;
    let untraced: Record<string, string> | undefined = {};
    await tracedHandle('etl-aggregates', [ra, rb], async () => {
      derived = derivedTraceHeaders(rb.headers);
      untraced = derivedTraceHeaders({});
    });
    const handlingOfB = spans().find((s) => s.name === 'process t' && s.spanContext().traceId === b.spanContext().traceId)!;
    expect(derived?.traceparent).toBe(`00-${b.spanContext().traceId}-${handlingOfB.spanContext().spanId}-01`);
    expect(untraced).toBeUndefined();
    // Outside a handler there is no source span to join.
    expect(derivedTraceHeaders(rb.headers)).toBeUndefined();
  });

  it('records a failed handling as an error on its spans', async () => {
    const parent = platformTracer().startSpan('p');
    const headers = traceHeaders(trace.setSpan(context.active(), parent));
    await expect(tracedHandle('g', [{ topic: 't', headers }], () => Promise.reject(new Error('store down')))).rejects.toThrow('store down');
    expect(spans().find((s) => s.name === 'process t')?.status).toMatchObject({ code: 2, message: 'store down' });
  });

  it('continues the trace of a gRPC caller and ends the server span with the status', async () => {
    const caller = platformTracer().startSpan('caller', { kind: SpanKind.CLIENT });
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(traceHeaders(trace.setSpan(context.active(), caller)))) metadata.set(k, v);
    const ctx = {
      getType: () => 'rpc',
      switchToRpc: () => ({ getContext: () => metadata }),
      getArgByIndex: () => ({ getPath: () => '/pulse.ingest.v1.IngestService/TrackEvents' }),
      getClass: () => ({ name: 'C' }),
      getHandler: () => ({ name: 'h' }),
    } as any;
    let active: string | undefined;
    const interceptor = new GrpcTracingInterceptor();
    await lastValueFrom(
      interceptor.intercept(ctx, {
        handle: () => {
          active = trace.getActiveSpan()?.spanContext().traceId;
          return of({ ok: true });
        },
      }),
    );
    await expect(
      lastValueFrom(
        interceptor.intercept(ctx, {
          handle: () => throwError(() => Object.assign(new Error('bad'), { code: grpc.status.INVALID_ARGUMENT })),
        }),
      ),
    ).rejects.toThrow('bad');
    const [ok, failed] = spans().filter((s) => s.name === 'pulse.ingest.v1.IngestService/TrackEvents');
    expect(ok.kind).toBe(SpanKind.SERVER);
    expect(ok.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect(ok.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.method': 'TrackEvents', 'rpc.grpc.status_code': 0 });
    expect(active).toBe(caller.spanContext().traceId);
    expect(failed.attributes['rpc.grpc.status_code']).toBe(grpc.status.INVALID_ARGUMENT);
    expect(failed.status.code).toBe(2);
  });

  it('puts the active trace and span ids on log lines', () => {
    const lines: string[] = [];
    const telemetry = startTelemetry('test', { TRACING_ENABLED: true });
    const logger = createLogger('test', 'info', {
      mixin: telemetry.loggerHooks.mixin,
      destination: { write: (l: string) => lines.push(l) } as any,
    });
    const span = platformTracer().startSpan('work');
    context.with(trace.setSpan(context.active(), span), () => logger.info('inside'));
    logger.info('outside');
    const [inside, outside] = lines.map((l) => JSON.parse(l));
    expect(inside).toMatchObject({ trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId });
    expect(outside.trace_id).toBeUndefined();
    return telemetry.shutdown();
  });
});

describe('tracing off', () => {
  it('adds no headers and no fields, and runs the work as it is', async () => {
    const telemetry = startTelemetry('test', {});
    expect(telemetry.loggerHooks).toEqual({ mixin: undefined, destination: undefined });
    let headers: Record<string, string> | undefined;
    await tracedSend(['t'], 1, async (h) => {
      headers = h;
    });
    expect(headers).toEqual({});
    await expect(tracedHandle('g', [{ topic: 't', headers: {} }], async () => 42)).resolves.toBe(42);
  });
});
