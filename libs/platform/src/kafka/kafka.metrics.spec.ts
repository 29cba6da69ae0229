import { ServiceMetrics } from '../metrics/metrics';
import { KafkaMetrics, type LagSource } from './kafka.metrics';

describe('KafkaMetrics', () => {
  it('counts records per topic and group, and reads each consumer group’s lag at scrape time', async () => {
    const metrics = new ServiceMetrics('kafka-metrics-test');
    const sources: LagSource[] = [
      {
        groupId: 'storage-activity',
        lag: async () => [
          { topic: 'pulse.activity.tracked.v1', partition: 0, lag: 3 },
          { topic: 'pulse.activity.tracked.v1', partition: 1, lag: 0 },
        ],
      },
      { groupId: 'broken', lag: () => Promise.reject(new Error('broker gone')) },
    ];
    const kafka = new KafkaMetrics(metrics, () => sources);
    kafka.produced('pulse.activity.tracked.v1', 5);
    kafka.produced('pulse.activity.tracked.v1', 2);
    kafka.consumed('storage-activity', 'pulse.activity.tracked.v1', 4);

    const text = await metrics.registry.metrics();
    expect(text).toContain('kafka_producer_records_total{topic="pulse.activity.tracked.v1",service="kafka-metrics-test"} 7');
    expect(text).toContain(
      'kafka_consumer_records_total{group="storage-activity",topic="pulse.activity.tracked.v1",service="kafka-metrics-test"} 4',
    );
    expect(text).toContain(
      'kafka_consumer_lag_records{group="storage-activity",topic="pulse.activity.tracked.v1",partition="0",service="kafka-metrics-test"} 3',
    );
    // A consumer whose lag cannot be read is left out of the scrape rather than failing it.
    expect(text).not.toContain('group="broken"');
  });
});
