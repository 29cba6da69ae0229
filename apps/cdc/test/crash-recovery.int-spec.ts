import { freePort } from '@pulse/platform';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { type CdcRecord, CdcTestEnv, lsnOf, PG_URL } from './support/cdc-test-env';

const ROOT = join(__dirname, '..', '..', '..');
const MAIN = join(ROOT, 'dist', 'apps', 'cdc', 'main.js');

let env: CdcTestEnv;

beforeAll(async () => {
  // The built service, as it runs in production (Nx replays the build from its cache when nothing changed).
  const build = spawnSync('npx', ['nx', 'build', 'cdc', '--output-style=static'], {
    cwd: ROOT,
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`nx build cdc failed:\n${build.stdout}\n${build.stderr}`);
  env = await CdcTestEnv.create();
}, 120_000);

afterAll(async () => {
  await env?.dispose();
});

/** Starts `node dist/apps/cdc/main.js` as a child process and waits until it reports ready. */
async function startService(httpPort: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { ...process.env, ...env.settings({ HTTP_PORT: String(httpPort), LOG_LEVEL: 'warn', CDC_MAX_BATCH_RECORDS: '50' }) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited with code ${child.exitCode}`);
    const ready = await fetch(`http://127.0.0.1:${httpPort}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return child;
    if (Date.now() > deadline) throw new Error('the service did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Commits small transactions as fast as it can: inserts (1 to 3 rows per statement) and counter updates. */
class Writer {
  readonly inserted = new Set<number>();
  /** Committed value of follower_count per user (each update adds 1). */
  readonly counts = new Map<number, number>();
  transactions = 0;
  private stopped = false;
  private done?: Promise<void>;
  private readonly client = new Client({ connectionString: PG_URL });

  async start(): Promise<void> {
    await this.client.connect();
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    const ids = [...this.counts.keys()];
    while (!this.stopped) {
      const n = this.transactions;
      const rows = 1 + (n % 3);
      await this.client.query('BEGIN');
      const values = Array.from({ length: rows }, (_, i) => `('w${n}_${i}', 'W', 'w${n}_${i}@pulse.test')`).join(', ');
      const { rows: created } = await this.client.query(
        `INSERT INTO ${env.name}.users (handle, display_name, email) VALUES ${values} RETURNING id`,
      );
      let updated: number | undefined;
      if (ids.length > 0) {
        updated = ids[(n * 7) % ids.length];
        await this.client.query(`UPDATE ${env.name}.users SET follower_count = follower_count + 1 WHERE id = $1`, [updated]);
      }
      await this.client.query('COMMIT');
      // Committed: from here on these changes must reach Kafka.
      for (const { id } of created) {
        this.inserted.add(Number(id));
        this.counts.set(Number(id), 0);
        ids.push(Number(id));
      }
      if (updated !== undefined) this.counts.set(updated, this.counts.get(updated)! + 1);
      this.transactions++;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    await this.client.end();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('crash recovery', () => {
  it('loses no committed change when the service is killed (kill -9) mid-stream and restarted', async () => {
    const httpPort = await freePort();
    const writer = new Writer();
    const service = await startService(httpPort);
    let restarted: ChildProcess | undefined;
    try {
      await writer.start();
      await sleep(1_500);
      const beforeKill = writer.transactions;
      service.kill('SIGKILL');
      await new Promise((resolve) => service.once('exit', resolve));
      await sleep(1_000);
      restarted = await startService(httpPort);
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
