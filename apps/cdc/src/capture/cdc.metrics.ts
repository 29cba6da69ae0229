import { Inject, Injectable } from '@nestjs/common';
import { ServiceMetrics } from '@pulse/platform';
import { Counter, Gauge, Histogram } from 'prom-client';
import { CDC_CONFIG, type CdcConfig } from '../config/cdc.config';

/** The cdc service's Prometheus metrics, on the app's /metrics next to the process and gRPC ones. */
@Injectable()
export class CdcMetrics {
  readonly events: Counter<'table' | 'op'>;
  readonly transactions: Counter;
  readonly snapshotRows: Counter<'table'>;
  readonly produceSeconds: Histogram;
  readonly slotLagBytes: Gauge<'slot'>;
  readonly slotLagLimitBytes: Gauge<'slot'>;
  readonly slotLagExceeded: Gauge<'slot'>;
  readonly lagSeconds: Gauge<'slot'>;
  readonly confirmedLsn: Gauge<'slot'>;
  readonly state: Gauge<'state'>;
  readonly heartbeats: Counter;
  readonly sessionFailures: Counter;

  constructor(metrics: ServiceMetrics, @Inject(CDC_CONFIG) config: CdcConfig) {
    const registers = [metrics.registry];
    this.events = new Counter({
      name: 'cdc_events_total',
      help: 'Row change events on Kafka, by table and op (c, u, d, r, t)',
      labelNames: ['table', 'op'],
      registers,
    });
    this.transactions = new Counter({
      name: 'cdc_transactions_total',
      help: 'Source transactions on Kafka and confirmed to the slot',
      registers,
    });
    this.snapshotRows = new Counter({
      name: 'cdc_snapshot_rows_total',
      help: 'Rows read by the initial snapshot, by table',
      labelNames: ['table'],
      registers,
    });
    this.produceSeconds = new Histogram({
      name: 'cdc_kafka_produce_seconds',
      help: 'Time for Kafka to acknowledge one produce of change events (acks=all)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.slotLagBytes = new Gauge({
      name: 'cdc_slot_lag_bytes',
      help: 'WAL the slot retains beyond its confirmed position: pg_current_wal_lsn() - confirmed_flush_lsn',
      labelNames: ['slot'],
      registers,
    });
    this.slotLagLimitBytes = new Gauge({
      name: 'cdc_slot_lag_limit_bytes',
      help: 'CDC_MAX_LAG_BYTES: the slot lag that raises the alert',
      labelNames: ['slot'],
      registers,
    });
    this.slotLagExceeded = new Gauge({
      name: 'cdc_slot_lag_exceeded',
      help: '1 while the slot lag is above CDC_MAX_LAG_BYTES',
      labelNames: ['slot'],
      registers,
    });
    this.lagSeconds = new Gauge({
      name: 'cdc_lag_seconds',
      help: 'Age of the oldest change read from the slot and not yet confirmed (0 when caught up)',
      labelNames: ['slot'],
      registers,
    });
    this.confirmedLsn = new Gauge({
      name: 'cdc_confirmed_flush_lsn',
      help: 'Position confirmed to the slot (64-bit LSN)',
      labelNames: ['slot'],
      registers,
    });
    this.state = new Gauge({ name: 'cdc_connector_state', help: "1 for the connector's current state", labelNames: ['state'], registers });
    this.heartbeats = new Counter({ name: 'cdc_heartbeats_emitted_total', help: 'Heartbeat messages written to the WAL', registers });
    this.sessionFailures = new Counter({
      name: 'cdc_session_failures_total',
      help: 'Replication sessions ended by an error (the stream resumes from the confirmed position)',
      registers,
    });
    this.slotLagLimitBytes.set({ slot: config.CDC_SLOT }, config.CDC_MAX_LAG_BYTES);
  }
}
