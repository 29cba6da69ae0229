import { freePort, PgLeaderElection } from '@pulse/platform';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { buildCdc, CommitWriter, startBuiltCdc } from './support/built-cdc';
import { type CdcRecord, CdcTestEnv, PG_URL } from './support/cdc-test-env';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
  return Date.now() - started;
}

describe('leader election on a PostgreSQL advisory lock', () => {
  const name = `test:${randomBytes(5).toString('hex')}`;
  const candidates: PgLeaderElection[] = [];
  const candidate = (identity: string) => {
    const election = new PgLeaderElection({
      url: PG_URL,
      name,
      identity,
      retryIntervalMs: 200,
      renewIntervalMs: 200,
      renewDeadlineMs: 1_000,
    });
    candidates.push(election);
    return election;
  };
  afterAll(() => Promise.all(candidates.map((c) => c.stop())));

  it('elects one of two replicas; the other stands by and takes over when the leader stops', async () => {
    const a = candidate('a');
    const b = candidate('b');
    expect(await a.tryAcquire()).toBe(true);
    expect(await b.tryAcquire()).toBe(false);
    a.campaign();
    b.campaign();
    await sleep(500);
    expect([a.state, b.state]).toEqual(['leader', 'standby']);
    await b.check();

    await a.stop();
    await until('b takes over', () => b.isLeader, 3_000);
    await b.leader;
  });

  it('takes over when the leader’s session is killed and the leader cannot take the lock back, which ends its leadership', async () => {
    const c = candidate('c');
    const d = candidate('d');
    const leader = candidates[1];
    expect(leader.isLeader).toBe(true);
    c.campaign();
    d.campaign();
    // The leader's session disappears (its process died or the network dropped it): PostgreSQL frees the lock.
    const { Client } = await import('pg');
    const admin = new Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [`leader:${name}:b`]);
    } finally {
      await admin.end();
    }
    // Either a standby took the lock (and the old leader gave up), or the old leader took it back first.
    await until('one leader again', () => [c, d, leader].filter((x) => x.isLeader).length === 1, 5_000).catch((error: Error) => {
      throw new Error(`${error.message}: states ${[c, d, leader].map((x) => x.state).join(', ')}`);
    });
    await sleep(1_500);
    const states = [c, d, leader].map((x) => x.state);
    expect(states.filter((s) => s === 'leader')).toHaveLength(1);
    if (states[2] !== 'leader') expect(states[2]).toBe('stopped');
  });
});

describe('cdc replicas with a hot standby', () => {
  let env: CdcTestEnv;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    buildCdc();
    env = await CdcTestEnv.create();
  }, 120_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await env?.dispose();
  });

  const isLeader = async (port: number) =>
    fetch(`http://127.0.0.1:${port}/metrics`)
      .then((r) => r.text())
      .then((text) => /^leader_election_is_leader\{[^}]*\} 1$/m.test(text))
      .catch(() => false);

  it('captures on one replica; after kill -9 of the leader the standby takes over from the slot with no committed change lost', async () => {
    const ports = [await freePort(), await freePort()];
    const settings = { LEADER_ELECTION_RETRY_INTERVAL: '500ms' };
    children.push(await startBuiltCdc(env, ports[0], settings));
    children.push(await startBuiltCdc(env, ports[1], settings));
    const leaders = await Promise.all(ports.map(isLeader));
    expect(leaders).toEqual([true, false]);

    const writer = new CommitWriter(env);
    await writer.start();
    await sleep(1_500);
    children[0].kill('SIGKILL');
    const killedAt = Date.now();
    await until('the standby leads', () => isLeader(ports[1]), 20_000);
    const takeoverMs = Date.now() - killedAt;
    await sleep(1_500);
    await writer.stop();

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
    process.stdout.write(
      `cdc takeover: ${takeoverMs} ms after kill -9, ${writer.transactions} transactions, ${records.length} change events\n`,
    );
  }, 120_000);
});
