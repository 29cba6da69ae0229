import pino from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger, LoggerHooks } from '../logging/logger';
import { kafkaSecurity, type KafkaSecurityEnv } from '../kafka/kafka-settings';
import { KafkaLogSink } from './kafka-log-sink';
import { LogShipper, type LogSink } from './log-shipper';
import type { TelemetryConfig } from './telemetry.config';
import { activeTraceIds } from './trace-context';
import { startTracing, type Tracing } from './tracing';

/** A service's telemetry: tracing (process-wide) and its log shipping, with what its logger needs from them. */
export interface Telemetry {
  readonly loggerHooks: LoggerHooks;
  readonly tracing?: Tracing;
  readonly shipper?: LogShipper;
  /** Adds `log_shipping_lines_total{outcome}` and `log_shipping_buffered_lines` to the app's /metrics. */
  registerMetrics(registry: Registry): void;
  /** Ships what is left and exports buffered spans (bounded in time), then stops both. */
  shutdown(): Promise<void>;
}

export interface TelemetryOverrides {
  /** A sink instead of Kafka (tests). */
  logSink?: LogSink;
}

const byLogger = new WeakMap<Logger, Telemetry>();

/**
 * Starts what the settings switch on: tracing (TRACING_ENABLED: spans over OTLP, trace ids on log lines) and log
 * shipping (LOG_SHIPPING_ENABLED: every line to pulse.logs.v1 as well as stdout). With both off it changes nothing.
 */
export function startTelemetry(
  service: string,
  config: Partial<TelemetryConfig> & Partial<KafkaSecurityEnv>,
  overrides: TelemetryOverrides = {},
): Telemetry {
  const tracing = config.TRACING_ENABLED
    ? startTracing({
        service,
        otlpUrl: config.TRACING_OTLP_URL ?? 'http://127.0.0.1:24318/v1/traces',
        sampleRatio: config.TRACING_SAMPLE_RATIO ?? 1,
      })
    : undefined;
  const shipper = config.LOG_SHIPPING_ENABLED
    ? new LogShipper({
        service,
        // The service's own KAFKA_SASL_* / KAFKA_TLS_* (log shipping goes to the same cluster's brokers).
        sink:
          overrides.logSink ??
          new KafkaLogSink(config.LOG_SHIPPING_BROKERS ?? ['127.0.0.1:29092'], service, kafkaSecurity(service, config)),
        passthrough: pino.destination(1),
        maxBuffered: config.LOG_SHIPPING_MAX_BUFFERED ?? 10_000,
        hashKey: config.LOG_SHIPPING_HASH_KEY ?? 'pulse-local-log-hash-key',
      })
    : undefined;
  let stopped = false;
  return {
    tracing,
    shipper,
    loggerHooks: {
      mixin: tracing ? () => activeTraceIds() ?? {} : undefined,
      destination: shipper,
    },
    registerMetrics(registry) {
      if (!shipper || registry.getSingleMetric('log_shipping_lines_total')) return;
      const reported = { shipped: 0, dropped: 0 };
      new Counter({
        name: 'log_shipping_lines_total',
        help: 'Log lines of this process shipped to pulse.logs.v1, or dropped because the shipping buffer was full',
        labelNames: ['outcome'],
        registers: [registry],
        collect() {
          const stats = shipper.stats;
          for (const outcome of ['shipped', 'dropped'] as const) {
            this.inc({ outcome }, stats[outcome] - reported[outcome]);
            reported[outcome] = stats[outcome];
          }
        },
      });
      new Gauge({
        name: 'log_shipping_buffered_lines',
        help: 'Log lines waiting to be shipped (bounded by LOG_SHIPPING_MAX_BUFFERED)',
        registers: [registry],
        collect() {
          this.set(shipper.stats.buffered);
        },
      });
    },
    async shutdown() {
      if (stopped) return;
      stopped = true;
      await Promise.allSettled([shipper?.stop(), tracing?.shutdown()]);
    },
  };
}

/** Remembers which telemetry a logger writes through, so the app's PlatformModule can stop it on shutdown. */
export function attachTelemetry(logger: Logger, telemetry: Telemetry): void {
  byLogger.set(logger, telemetry);
}

export function telemetryOf(logger: Logger): Telemetry | undefined {
  return byLogger.get(logger);
}
