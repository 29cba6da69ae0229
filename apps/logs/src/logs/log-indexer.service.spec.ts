import type { ShippedLog } from '@pulse/contracts';
import { type IncomingRecord, PermanentError, ServiceMetrics } from '@pulse/platform';
import type { LogsConfig } from '../config/logs.config';
import type { BulkItemResult, OpenSearchClient } from '../opensearch/opensearch.client';
import { LogIndexer } from './log-indexer.service';

const line = (offset: number, service = 'ingest'): IncomingRecord<string, ShippedLog> => ({
  topic: 'pulse.logs.v1',
  partition: 1,
  offset: BigInt(offset),
  timestampMs: 0,
  headers: {},
  key: `${service}@h:1`,
  value: { time: '2026-03-09T10:00:00.000Z', service, level: 'info', msg: `line ${offset}`, instance: 'h:1' },
});

function indexer(results: (count: number) => BulkItemResult[]) {
  const bulks: string[][] = [];
  const store = {
    bulk: async (lines: string[]) => {
      bulks.push(lines);
      return results(lines.length / 2);
    },
  } as unknown as OpenSearchClient;
  const config = { LOGS_INDEX_PREFIX: 'pulse-logs', LOGS_BULK_MAX_LINES: 2 } as LogsConfig;
  return { indexer: new LogIndexer(store, config, new ServiceMetrics('logs-test')), bulks };
}

describe('LogIndexer', () => {
  it('writes lines to their daily index with their Kafka position as id, in bulks of at most the limit', async () => {
    const { indexer: subject, bulks } = indexer((n) => Array.from({ length: n }, () => ({ status: 201 })));
    await subject.index([line(7), line(8), line(9)]);
    expect(bulks).toHaveLength(2);
    expect(JSON.parse(bulks[0][0])).toEqual({ index: { _index: 'pulse-logs-2026.03.09', _id: 'pulse.logs.v1-1-7' } });
    expect(JSON.parse(bulks[0][1])).toMatchObject({ service: 'ingest', message: 'line 7', level_value: 30 });
    expect(subject.stats).toEqual({ indexed: 3, refused: 0 });
  });

  it('fails the batch for a retry when the store is overloaded', async () => {
    const { indexer: subject } = indexer(() => [
      { status: 201 },
      { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } },
    ]);
    await expect(subject.index([line(1), line(2)])).rejects.toThrow('queue full');
    await expect(subject.index([line(1), line(2)])).rejects.not.toBeInstanceOf(PermanentError);
  });

  it('names a line the store refuses for good, so that it is dead-lettered and the rest goes on', async () => {
    const { indexer: subject } = indexer(() => [
      { status: 201 },
      { status: 400, error: { type: 'mapper_parsing_exception', reason: 'bad date' } },
    ]);
    const failure = await subject.index([line(1), line(2)]).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PermanentError);
    expect((failure as PermanentError).record).toEqual({ topic: 'pulse.logs.v1', partition: 1, offset: 2n });
    expect(subject.stats.refused).toBe(1);
  });
});
