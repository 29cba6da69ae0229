import { parsePrometheusText, sumBy } from './prometheus-text';

const TEXT = `# HELP kafka_producer_records_total Records written
# TYPE kafka_producer_records_total counter
kafka_producer_records_total{topic="pulse.activity.tracked.v1",service="ingest"} 42
kafka_producer_records_total{topic="pulse.activity.rejected.v1",service="ingest"} 3
kafka_consumer_lag_records{group="storage-activity",topic="pulse.activity.tracked.v1",partition="0",service="storage"} 5
kafka_consumer_lag_records{group="storage-activity",topic="pulse.activity.tracked.v1",partition="1",service="storage"} 2
process_start_time_seconds 1700000000
weird{label="a \\"quoted\\" value"} 1.5e3
not a sample line
`;

describe('Prometheus text', () => {
  it('reads names, labels (quotes included) and values, and skips comments and noise', () => {
    const samples = parsePrometheusText(TEXT);
    expect(samples).toHaveLength(6);
    expect(samples[0]).toEqual({
      name: 'kafka_producer_records_total',
      labels: { topic: 'pulse.activity.tracked.v1', service: 'ingest' },
      value: 42,
    });
    expect(samples.find((s) => s.name === 'weird')).toEqual({ name: 'weird', labels: { label: 'a "quoted" value' }, value: 1500 });
    expect(samples.find((s) => s.name === 'process_start_time_seconds')?.labels).toEqual({});
  });

  it('sums a metric by one label, as lag per group over its partitions', () => {
    const lag = sumBy(parsePrometheusText(TEXT), 'kafka_consumer_lag_records', 'group');
    expect([...lag]).toEqual([['storage-activity', 7]]);
  });
});
