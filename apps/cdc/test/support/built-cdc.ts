import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { type CdcTestEnv, PG_URL } from './cdc-test-env';

const ROOT = join(__dirname, '..', '..', '..', '..');
const MAIN = join(ROOT, 'dist', 'apps', 'cdc', 'main.js');

/** Builds the service as it runs in production (Nx replays the build from its cache when nothing changed). */
export function buildCdc(): void {
  const build = spawnSync('npx', ['nx', 'build', 'cdc', '--output-style=static'], {
    cwd: ROOT,
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`nx build cdc failed:\n${build.stdout}\n${build.stderr}`);
}

/** Starts `node dist/apps/cdc/main.js` capturing `env` as a child process and waits until it reports ready. */
export async function startBuiltCdc(env: CdcTestEnv, httpPort: number, overrides: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { ...process.env, ...env.settings({ HTTP_PORT: String(httpPort), LOG_LEVEL: 'warn', CDC_MAX_BATCH_RECORDS: '50', ...overrides }) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  let last = '';
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited with code ${child.exitCode}`);
    const ready = await fetch(`http://127.0.0.1:${httpPort}/health/ready`).then(
      async (r) => {
        last = await r.text();
        return r.ok;
      },
      () => false,
    );
    if (ready) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the service did not become ready: ${last || 'no answer'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Commits small transactions to the test schema's users as fast as it can: inserts (1 to 3 rows) and counter updates. */
export class CommitWriter {
  readonly inserted = new Set<number>();
  /** Committed value of follower_count per user (each update adds 1). */
  readonly counts = new Map<number, number>();
  transactions = 0;
  private stopped = false;
  private done?: Promise<void>;
  private readonly client = new Client({ connectionString: PG_URL });

  constructor(private readonly env: CdcTestEnv) {}

  async start(): Promise<void> {
    await this.client.connect();
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    const ids = [...this.counts.keys()];
    const schema = this.env.name;
    while (!this.stopped) {
      const n = this.transactions;
      const rows = 1 + (n % 3);
      await this.client.query('BEGIN');
      const values = Array.from({ length: rows }, (_, i) => `('w${n}_${i}', 'W', 'w${n}_${i}@pulse.test')`).join(', ');
      const { rows: created } = await this.client.query(
        `INSERT INTO ${schema}.users (handle, display_name, email) VALUES ${values} RETURNING id`,
      );
      let updated: number | undefined;
      if (ids.length > 0) {
        updated = ids[(n * 7) % ids.length];
        await this.client.query(`UPDATE ${schema}.users SET follower_count = follower_count + 1 WHERE id = $1`, [updated]);
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
