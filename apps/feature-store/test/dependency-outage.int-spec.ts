import { freePort } from '@pulse/platform';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeatureStoreWorld } from './feature-store-test-app';

/** A Redis of this test's own on a free port (the shared one is never stopped), in memory only. */
class OwnRedis {
  private process?: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'fs-outage-redis-'));
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.process = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '', '--appendonly', 'no', '--dir', this.dir],
      {
        stdio: 'ignore',
      },
    );
    await until('redis answers', () => fetchable(this.port), 10_000);
  }

  /** kill -9: the server disappears without closing its connections politely. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether something accepts TCP connections on the port (Redis answers PING on them). */
async function fetchable(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Date.now() - started;
}

describe('readiness across a dependency outage', () => {
  let redis: OwnRedis;
  let world: FeatureStoreWorld;

  beforeAll(async () => {
    redis = new OwnRedis(await freePort());
    await redis.start();
    world = new FeatureStoreWorld({ REDIS_URL: `redis://127.0.0.1:${redis.port}` });
    world.writeRepo({});
    await world.start();
  }, 60_000);

  afterAll(async () => {
    if (redis && !(await fetchable(redis.port))) await redis.start().catch(() => undefined);
    await world?.dispose();
    await redis?.dispose();
  }, 60_000);

  const readiness = async () => {
    const response = await fetch(`${world.app!.httpUrl}/health/ready`);
    return { status: response.status, body: (await response.json()) as { checks: Record<string, { ok: boolean; error?: string }> } };
  };

  it('turns not ready while its Redis is down, ready again once it is back, and never exits', async () => {
    expect((await readiness()).status).toBe(200);

    await redis.kill();
    const downAfterMs = await until('not ready', async () => (await readiness()).status === 503, 10_000);
    const down = await readiness();
    expect(down.body.checks['redis'].ok).toBe(false);
    // The stores that are up still pass their checks.
    for (const store of ['postgres', 'kafka']) expect(down.body.checks[store]?.ok).toBe(true);

    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await fetch(`${world.app!.httpUrl}/health/live`)).status).toBe(200);

    await redis.start();
    const backAfterMs = await until('ready again', async () => (await readiness()).status === 200, 15_000);
    process.stdout.write(`redis outage: not ready after ${downAfterMs} ms, ready ${backAfterMs} ms after redis came back\n`);
  }, 60_000);
});
