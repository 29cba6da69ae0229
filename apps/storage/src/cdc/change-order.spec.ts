import type { DebeziumEnvelope } from '@pulse/contracts';
import { changeOrder } from './app-db.kafka.consumer';

const base: DebeziumEnvelope = {
  before: null,
  after: { id: 1 },
  op: 'u',
  ts_ms: 0,
  source: { db: 'pulse', schema: 'public', table: 'users', lsn: 1_000, txId: 7, ts_ms: 0, snapshot: 'false' },
};

describe('changeOrder', () => {
  it('orders a streamed change by its transaction commit LSN, not its own LSN', () => {
    // Began before the snapshot (own LSN 1000), committed after it (commit LSN 5000).
    expect(changeOrder({ ...base, transaction: { id: '7:5000', total_order: 1, data_collection_order: 1 } })).toBe(5_000);
  });

  it('falls back to source.lsn for snapshot reads and envelopes without transaction metadata', () => {
    expect(changeOrder(base)).toBe(1_000);
    expect(changeOrder({ ...base, op: 'r', transaction: null })).toBe(1_000);
  });
});
