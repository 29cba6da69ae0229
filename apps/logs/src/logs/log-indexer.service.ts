import { Inject, Injectable } from '@nestjs/common';
import type { ShippedLog } from '@pulse/contracts';
import { type IncomingRecord, PermanentError, ServiceMetrics } from '@pulse/platform';
import { Counter } from 'prom-client';
import { LOGS_CONFIG, type LogsConfig } from '../config/logs.config';
import { OpenSearchClient } from '../opensearch/opensearch.client';
import { indexFor, toDocument } from './log-document';
import { OPENSEARCH } from './log-store';

/**
 * Writes shipped log lines to the daily indices with the bulk API. Each line's document id is its Kafka position, so
 * a batch handled twice (at-least-once) stores each line once. A line the store refuses for good (a 4xx other than
 * 429) is a PermanentError naming it: the consumer dead-letters it and handles the rest; anything else (the store
 * away, 429, 5xx) fails the batch, which is retried with backoff while Kafka keeps the lines.
 */
@Injectable()
export class LogIndexer {
  private readonly indexed: Counter<'service'>;
  private readonly refused: Counter;
  private indexedCount = 0;
  private refusedCount = 0;

  constructor(
    @Inject(OPENSEARCH) private readonly store: OpenSearchClient,
    @Inject(LOGS_CONFIG) private readonly config: LogsConfig,
    metrics: ServiceMetrics,
  ) {
    this.indexed = new Counter({
      name: 'logs_lines_indexed_total',
      help: 'Log lines written to the log store, by the service that wrote them',
      labelNames: ['service'],
      registers: [metrics.registry],
    });
    this.refused = new Counter({
      name: 'logs_lines_refused_total',
      help: 'Log lines the log store refused for good (dead-lettered)',
      registers: [metrics.registry],
    });
  }

  get stats() {
    return { indexed: this.indexedCount, refused: this.refusedCount };
  }

  async index(records: readonly IncomingRecord<string, ShippedLog>[]): Promise<void> {
    const lines = records.filter((r) => r.value !== null);
    for (let start = 0; start < lines.length; start += this.config.LOGS_BULK_MAX_LINES)
      await this.indexChunk(lines.slice(start, start + this.config.LOGS_BULK_MAX_LINES));
  }

  private async indexChunk(records: readonly IncomingRecord<string, ShippedLog>[]): Promise<void> {
    if (records.length === 0) return;
    const body: string[] = [];
    for (const record of records) {
      const doc = toDocument(record.value!);
      const id = `${record.topic}-${record.partition}-${record.offset}`;
      body.push(
        JSON.stringify({ index: { _index: indexFor(this.config.LOGS_INDEX_PREFIX, doc['@timestamp']), _id: id } }),
        JSON.stringify(doc),
      );
    }
    const results = await this.store.bulk(body);
    let transient: string | undefined;
    let permanent: { record: IncomingRecord<string, ShippedLog>; reason: string } | undefined;
    results.forEach((result, i) => {
      if (result.status < 300) return;
      const reason = `${result.status} ${result.error?.type ?? ''}: ${result.error?.reason ?? ''}`;
      if (result.status === 429 || result.status >= 500) transient ??= reason;
      else permanent ??= { record: records[i], reason };
    });
    if (transient) throw new Error(`the log store refused lines for now: ${transient}`);
    if (permanent) {
      this.refused.inc();
      this.refusedCount++;
      throw new PermanentError(`the log store refused a line: ${permanent.reason}`, { record: permanent.record });
    }
    this.indexedCount += records.length;
    const perService = new Map<string, number>();
    for (const r of records) perService.set(r.value!.service, (perService.get(r.value!.service) ?? 0) + 1);
    for (const [service, n] of perService) this.indexed.inc({ service }, n);
  }
}
