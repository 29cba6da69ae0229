import { startService } from '@pulse/platform/testing';
import { rm } from 'node:fs/promises';
import {
  bronzeCounts,
  bronzeTable,
  bronzeTxnOffsets,
  type EtlRun,
  newRun,
  produce,
  startEtl,
  testKafka,
  viewEvents,
  waitFor,
} from './etl-test-kit';

const kafka = testKafka('exactly-once');
const runs: EtlRun[] = [];

afterAll(async () => {
  await kafka.admin.deleteTopics(runs.map((r) => r.activityTopic.name)).catch(() => undefined);
  await kafka.close();
  for (const run of runs) await rm(run.lakeRoot, { recursive: true, force: true });
});

describe('bronze activity table, exactly once', () => {
  it('holds every event once after a kill -9 in the middle of the stream and a restart', async () => {
    const run = newRun();
    runs.push(run);
    await kafka.admin.ensureTopics([run.activityTopic]);
    const total = 60_000;
    await produce(kafka, run, viewEvents(run, 0, total));
    const env = { ...run.env, ETL_AGGREGATE_STREAMS: 'false', ETL_MAX_BATCH_RECORDS: '250', ETL_TRIGGER_INTERVAL: '50ms' };

    const first = await startService('etl', env);
    // Let it commit a few batches, then crash it without warning.
    const before = await waitFor(
      () => bronzeCounts(run),
      (c) => c.rows >= 3000,
      60_000,
    );
    await first.kill('SIGKILL');
    const atCrash = await bronzeCounts(run);
    expect(atCrash.rows).toBeGreaterThanOrEqual(before.rows);
    expect(atCrash.rows).toBeLessThan(total); // the crash really was mid-stream
    expect(atCrash.distinct).toBe(atCrash.rows);

    const second = await startService('etl', env);
    try {
      const after = await waitFor(
        () => bronzeCounts(run),
        (c) => c.rows >= total,
        90_000,
      );
      // Give a replayed batch the chance to show up twice, were it not refused.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await bronzeCounts(run)).toEqual({ rows: total, distinct: total });
      expect(after.rows).toBe(total);
      // The table's offsets (txn per partition) cover exactly what Kafka holds.
      const ends = await kafka.admin.endOffsets(run.activityTopic.name);
      expect(await bronzeTxnOffsets(run)).toBe(ends.reduce((s, o) => s + Number(o), 0));
    } finally {
      await second.stop();
    }
  });

  it('splits partitions between two replicas of one group with no duplicate and no gap, across a rebalance', async () => {
    const run = newRun();
    runs.push(run);
    await kafka.admin.ensureTopics([run.activityTopic]);
    const overrides = { ETL_AGGREGATE_STREAMS: 'false', ETL_MAX_BATCH_RECORDS: '400', ETL_TRIGGER_INTERVAL: '50ms' };
    const a = await startEtl(run, overrides);
    const b = await startEtl(run, overrides);
    let bOpen = true;
    try {
      // Let the group settle with both members, so the first events are split between them.
      await new Promise((r) => setTimeout(r, 4000));
      await produce(kafka, run, viewEvents(run, 0, 8000, 500));
      await waitFor(
        () => bronzeCounts(run),
        (c) => c.rows >= 2000,
      );
      // One replica leaves mid-stream: its partitions move to the other.
      await b.close();
      bOpen = false;
      await produce(kafka, run, viewEvents(run, 8000, 4000, 500));
      const c = await startEtl(run, overrides);
      try {
        await produce(kafka, run, viewEvents(run, 12_000, 4000, 500));
        await waitFor(
          () => bronzeCounts(run),
          (counts) => counts.rows >= 16_000,
          90_000,
        );
        await new Promise((r) => setTimeout(r, 1500));
        expect(await bronzeCounts(run)).toEqual({ rows: 16_000, distinct: 16_000 });
        const table = await bronzeTable(run);
        const writers = new Set((await table.history()).flatMap((h) => (h.info['pulseWriter'] ? [h.info['pulseWriter']] : [])));
        expect(writers.size).toBeGreaterThanOrEqual(2); // the work really was split between replicas
      } finally {
        await c.close();
      }
    } finally {
      if (bOpen) await b.close();
      await a.close();
    }
  });
});
