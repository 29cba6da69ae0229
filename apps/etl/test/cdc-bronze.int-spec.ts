import { cdcTopic, type DebeziumEnvelope } from '@pulse/contracts';
import { rm } from 'node:fs/promises';
import { type EtlRun, newRun, queryTable, startEtl, testKafka, waitFor } from './etl-test-kit';

const kafka = testKafka('cdc-bronze');
const run: EtlRun = newRun();

afterAll(async () => {
  await kafka.close();
  await rm(run.lakeRoot, { recursive: true, force: true });
});

function change(
  op: DebeziumEnvelope['op'],
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
  lsn: number,
): DebeziumEnvelope {
  const ts = Date.UTC(2024, 5, 2, 9, 0, lsn);
  return {
    before,
    after,
    op,
    ts_ms: ts + 5,
    source: { ts_ms: ts, snapshot: 'false', db: 'pulse', schema: run.id, table: 'users', txId: 700 + lsn, lsn },
  };
}

describe('bronze CDC tables', () => {
  it('lands every change of an app-database table, Debezium envelope intact, skipping tombstones', async () => {
    const topic = cdcTopic('users', run.id);
    await kafka.admin.ensureTopics([topic]);
    const app = await startEtl(run, { ETL_CDC_TABLES: `${run.id}.users`, ETL_AGGREGATE_STREAMS: 'false' });
    try {
      await kafka.producer.send(topic, [
        { key: { id: 1 }, value: change('c', null, { id: 1, handle: 'ada' }, 1) },
        { key: { id: 1 }, value: change('u', { id: 1, handle: 'ada' }, { id: 1, handle: 'ada_l' }, 2) },
        { key: { id: 1 }, value: change('d', { id: 1, handle: 'ada_l' }, null, 3) },
        { key: { id: 1 }, value: null },
      ]);
      const rows = await waitFor(
        () =>
          queryTable<{ op: string; key: string; before: string | null; after: string | null; lsn: number; change_date: string }>(
            run,
            `bronze/cdc/${run.id}.users`,
            'SELECT op, key, before, after, lsn::INT AS lsn, change_date::VARCHAR AS change_date FROM {t} ORDER BY lsn',
          ).catch(() => []),
        (r) => r.length >= 3,
      );
      expect(rows.map((r) => [r.op, r.lsn, r.change_date])).toEqual([
        ['c', 1, '2024-06-02'],
        ['u', 2, '2024-06-02'],
        ['d', 3, '2024-06-02'],
      ]);
      expect(JSON.parse(rows[1].after!)).toEqual({ id: 1, handle: 'ada_l' });
      expect(JSON.parse(rows[2].before!)).toEqual({ id: 1, handle: 'ada_l' });
      expect(rows[2].after).toBeNull();
      expect(JSON.parse(rows[0].key)).toEqual({ id: 1 });
    } finally {
      await app.close();
      await kafka.admin.deleteTopics([topic.name]).catch(() => undefined);
    }
  });
});
