import { Injectable } from '@nestjs/common';
import { ServiceMetrics } from '@pulse/platform';
import { Counter, Histogram } from 'prom-client';
import type { BatchOutcome, StreamCounters } from './stream-runner.kafka.consumer';

/** Prometheus metrics of the streams: records by outcome, commits, batch durations. Lag is on GetStatus and etl_stream_lag. */
@Injectable()
export class StreamMetrics implements StreamCounters {
  private readonly records: Counter<'stream' | 'outcome'>;
  private readonly commits: Counter<'stream'>;
  private readonly batchSeconds: Histogram<'stream'>;

  constructor(metrics: ServiceMetrics) {
    this.records = new Counter({
      name: 'etl_stream_records_total',
      help: 'Records handled by a stream: written to its table, skipped because the table already held them, or a duplicate of an event id it holds',
      labelNames: ['stream', 'outcome'],
      registers: [metrics.registry],
    });
    this.commits = new Counter({
      name: 'etl_stream_commits_total',
      help: 'Delta commits made by a stream',
      labelNames: ['stream'],
      registers: [metrics.registry],
    });
    this.batchSeconds = new Histogram({
      name: 'etl_stream_batch_seconds',
      help: 'Time from receiving a micro-batch to its Delta commit',
      labelNames: ['stream'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [metrics.registry],
    });
  }

  onBatch(stream: string, outcome: BatchOutcome, _records: number, seconds: number): void {
    this.records.inc({ stream, outcome: 'written' }, outcome.written);
    if (outcome.skipped > 0) this.records.inc({ stream, outcome: 'skipped' }, outcome.skipped);
    if (outcome.duplicates) this.records.inc({ stream, outcome: 'duplicate' }, outcome.duplicates);
    if (outcome.version !== null) this.commits.inc({ stream });
    this.batchSeconds.observe({ stream }, seconds);
  }
}
