import { freePort } from '@pulse/platform';
import type { ChildProcess } from 'node:child_process';
import { buildCdc, CommitWriter, startBuiltCdc } from './support/built-cdc';
import { type CdcRecord, CdcTestEnv, lsnOf } from './support/cdc-test-env';

let env: CdcTestEnv;

beforeAll(async () => {
  buildCdc();
  env = await CdcTestEnv.create();
}, 120_000);

afterAll(async () => {
  await env?.dispose();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('crash recovery', () => {
  it('loses no committed change when the service is killed (kill -9) mid-stream and restarted', async () => {
    const httpPort = await freePort();
    const writer = new CommitWriter(env);
    const service = await startBuiltCdc(env, httpPort);
    let restarted: ChildProcess | undefined;
    try {
      await writer.start();
      await sleep(1_500);
      const beforeKill = writer.transactions;
      service.kill('SIGKILL');
      await new Promise((resolve) => service.once('exit', resolve));
      await sleep(1_000);
      restarted = await startBuiltCdc(env, httpPort);
      await sleep(1_000);
      await writer.stop();
      expect(beforeKill).toBeGreaterThan(20);

      // Everything committed arrives: each insert, and each update's counter value, with no gap.
      const complete = (records: CdcRecord[]) => {
        const seen = new Map<number, number>();
        for (const r of records) {
          const after = r.value?.after;
          if (after) seen.set(after['id'] as number, Math.max(seen.get(after['id'] as number) ?? -1, after['follower_count'] as number));
        }
        return [...writer.counts].every(([id, count]) => seen.get(id) === count);
      };
      const records = (await env.read('users', complete, 40_000)).filter((r) => r.value !== null);
      const created = new Set(records.filter((r) => r.value!.op === 'c').map((r) => r.key!['id'] as number));
      expect([...writer.inserted].filter((id) => !created.has(id))).toEqual([]);
      for (const [id, count] of writer.counts) {
        const versions = new Set(
          records.filter((r) => r.key!['id'] === id && r.value!.op === 'u').map((r) => r.value!.after!['follower_count']),
        );
        expect([id, [...versions].sort((a, b) => (a as number) - (b as number))]).toEqual([
          id,
          Array.from({ length: count }, (_, i) => i + 1),
        ]);
      }

      // A change may arrive twice (it was on Kafka, not yet confirmed, when the process died), but then as the same event.
      const copies = new Map<string, CdcRecord[]>();
      for (const r of records) {
        const id = `${r.key!['id']}/${r.value!.op}/${r.value!.after!['follower_count']}`;
        copies.set(id, [...(copies.get(id) ?? []), r]);
      }
      const duplicated = [...copies.values()].filter((c) => c.length > 1);
      for (const group of duplicated) expect(new Set(group.map(lsnOf)).size).toBe(1);
      process.stdout.write(
        `crash recovery: ${writer.transactions} transactions, ${writer.inserted.size} inserts, ${records.length} change events, ` +
          `${duplicated.length} replayed after the kill\n`,
      );
    } finally {
      if (service.exitCode === null) service.kill('SIGKILL');
      if (restarted && restarted.exitCode === null) {
        restarted.kill('SIGTERM');
        await new Promise((resolve) => restarted!.once('exit', resolve));
      }
    }
  }, 90_000);
});
