import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { CassandraDriverInstrumentation } from '@opentelemetry/instrumentation-cassandra-driver';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { createRequire } from 'node:module';
import { setTracingOn } from './trace-context';

export interface TracingOptions {
  /** `service.name` of every span of the process. */
  service: string;
  /** OTLP/HTTP traces endpoint (`.../v1/traces`). */
  otlpUrl: string;
  /** Share of new traces recorded (0..1); a sampled or unsampled parent decides for its children. */
  sampleRatio: number;
  /** Where spans go instead of OTLP (tests: an in-memory exporter). */
  exporter?: SpanExporter;
  /** A processor instead of the batching one (tests: a SimpleSpanProcessor). */
  processor?: SpanProcessor;
}

export interface Tracing {
  readonly service: string;
  /** Exports what is buffered. */
  flush(): Promise<void>;
  /** Flushes and stops; the process traces no more. */
  shutdown(): Promise<void>;
}

/** Packages whose client calls become spans (PostgreSQL, Redis, Cassandra), where an instrumentation exists. */
const INSTRUMENTED_PACKAGES = ['pg', 'ioredis', 'cassandra-driver'];

let active: { tracing: Tracing; users: number } | undefined;

/**
 * Turns tracing on for the process: a tracer provider with W3C trace context propagation, parent-based ratio sampling,
 * spans batched to OTLP/HTTP, and the PostgreSQL, Redis and Cassandra client instrumentations. The gRPC and Kafka
 * spans come from the platform itself (`GrpcTracingInterceptor`, `grpcClient`, the Kafka client), so they work however
 * the app is loaded. One provider per process: a second service started in the same process (tests) shares the first
 * one's (and its `service.name`); each `shutdown` releases one user, the last one stops it.
 */
export function startTracing(options: TracingOptions): Tracing {
  if (active) {
    active.users++;
    return release(active.tracing);
  }
  const exporter = options.exporter ?? new OTLPTraceExporter({ url: options.otlpUrl, timeoutMillis: 5_000 });
  const processor =
    options.processor ??
    // Bounded: when the collector is slow or away, spans beyond the queue are dropped, never waited for.
    new BatchSpanProcessor({ exporter, maxQueueSize: 4096, maxExportBatchSize: 512, scheduledDelayMillis: 1_000 });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.service }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    spanProcessors: [processor],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  setTracingOn(true);
  const disableInstrumentations = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      new CassandraDriverInstrumentation(),
    ],
  });
  // The instrumentations patch a package when it is required; the app loaded them before tracing started, so require
  // them once more (from the app's own location, where present) to have their prototypes patched.
  const load = createRequire(__filename);
  for (const name of INSTRUMENTED_PACKAGES) {
    try {
      load(name);
    } catch {
      // not a dependency of this app
    }
  }
  const tracing: Tracing = {
    service: options.service,
    flush: () => provider.forceFlush(),
    async shutdown() {
      disableInstrumentations();
      await provider.shutdown();
      setTracingOn(false);
      trace.disable();
      propagation.disable();
      context.disable();
      active = undefined;
    },
  };
  active = { tracing, users: 1 };
  return release(tracing);
}

/** A handle whose shutdown stops the provider only when no other service of the process uses it. */
function release(tracing: Tracing): Tracing {
  let released = false;
  return {
    service: tracing.service,
    flush: () => tracing.flush(),
    async shutdown() {
      if (released || !active) return;
      released = true;
      if (--active.users > 0) return tracing.flush();
      await tracing.shutdown();
    },
  };
}
