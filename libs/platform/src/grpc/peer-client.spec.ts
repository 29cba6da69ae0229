import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoFile } from '@pulse/contracts';
import { Registry } from 'prom-client';
import { PROTO_LOADER_OPTIONS } from './health-reflection';
import { CircuitOpenError, PeerClient } from './peer-client';

type Behaviour = () => { delayMs?: number; code?: grpc.status };

/** A real grpc-js server answering grpc.health.v1.Health/Check as `behaviour` says. */
async function healthServer(behaviour: { current: Behaviour; calls: number }) {
  const definition = protoLoader.loadSync(protoFile('grpc/health/v1/health.proto'), PROTO_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as any;
  const server = new grpc.Server();
  server.addService(pkg.grpc.health.v1.Health.service, {
    check: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
      behaviour.calls++;
      const { delayMs = 0, code } = behaviour.current();
      setTimeout(
        () => (code === undefined ? callback(null, { status: 'SERVING' }) : callback({ code, details: 'scripted' } as grpc.ServiceError)),
        delayMs,
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    /** Gone at once, its connections cut (a replica killed). */
    kill: () => server.forceShutdown(),
  };
}

describe('PeerClient', () => {
  const behaviour = { current: (() => ({})) as Behaviour, calls: 0 };
  let server: Awaited<ReturnType<typeof healthServer>>;
  let client: PeerClient;
  const registry = new Registry();

  beforeAll(async () => {
    server = await healthServer(behaviour);
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    behaviour.calls = 0;
    behaviour.current = () => ({});
    client = new PeerClient({
      name: 'health',
      address: server.address,
      protoFile: 'grpc/health/v1/health.proto',
      service: 'grpc.health.v1.Health',
      // Deadlines far above a call's time on a loaded machine: only the budget test is about time.
      deadlineMs: 5_000,
      retries: 2,
      backoffMs: 5,
      failureThreshold: 3,
      openMs: 300,
      registry,
    });
  });
  afterEach(() => client.close());

  it('retries an idempotent call after UNAVAILABLE and returns the answer', async () => {
    let n = 0;
    behaviour.current = () => (n++ < 2 ? { code: grpc.status.UNAVAILABLE } : {});
    await expect(client.call('Check', { service: '' })).resolves.toEqual({ status: 1 });
    expect(behaviour.calls).toBe(3);
  });

  it('does not retry a call that is not idempotent, nor a caller mistake', async () => {
    behaviour.current = () => ({ code: grpc.status.UNAVAILABLE });
    await expect(client.call('Check', { service: '' }, { idempotent: false })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(behaviour.calls).toBe(1);
    behaviour.current = () => ({ code: grpc.status.INVALID_ARGUMENT });
    await expect(client.call('Check', { service: '' })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect(behaviour.calls).toBe(2);
  });

  it('keeps a slow peer within the caller budget, retries included', async () => {
    behaviour.current = () => ({ delayMs: 10_000 });
    const started = Date.now();
    await expect(client.call('Check', { service: '' }, { budgetMs: 300 })).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    // Bounded by the budget, not by the peer (10 s) nor by one attempt's deadline (5 s).
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('opens after repeated faults, refuses without calling, and closes after a good trial', async () => {
    behaviour.current = () => ({ code: grpc.status.UNAVAILABLE });
    await expect(client.call('Check', { service: '' }, { idempotent: false })).rejects.toBeDefined();
    await expect(client.call('Check', { service: '' }, { idempotent: false })).rejects.toBeDefined();
    await expect(client.call('Check', { service: '' }, { idempotent: false })).rejects.toBeDefined();
    expect(client.state).toBe('open');
    const before = behaviour.calls;
    await expect(client.call('Check', { service: '' })).rejects.toBeInstanceOf(CircuitOpenError);
    expect(behaviour.calls).toBe(before);
    behaviour.current = () => ({});
    await new Promise((resolve) => setTimeout(resolve, 320));
    expect(client.state).toBe('half-open');
    await expect(client.call('Check', { service: '' })).resolves.toEqual({ status: 1 });
    expect(client.state).toBe('closed');
    expect(await registry.getSingleMetricAsString('grpc_client_handled_total')).toMatch(/code="CIRCUIT_OPEN"/);
  });

  it('re-opens at once when the half-open trial fails', async () => {
    behaviour.current = () => ({ code: grpc.status.UNAVAILABLE });
    for (let i = 0; i < 3; i++) await client.call('Check', { service: '' }, { idempotent: false }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 320));
    await expect(client.call('Check', { service: '' }, { idempotent: false })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(client.state).toBe('open');
  });
});

describe('PeerClient over several replicas (IP host:port list)', () => {
  it('spreads calls over them (round robin) and goes on with the others while one is down', async () => {
    const a = { current: (() => ({})) as Behaviour, calls: 0 };
    const b = { current: (() => ({})) as Behaviour, calls: 0 };
    const [serverA, serverB] = await Promise.all([healthServer(a), healthServer(b)]);
    const client = new PeerClient({
      name: 'health',
      address: `${serverA.address},${serverB.address}`,
      protoFile: 'grpc/health/v1/health.proto',
      service: 'grpc.health.v1.Health',
      deadlineMs: 5_000,
      retries: 2,
      backoffMs: 5,
    });
    try {
      for (let i = 0; i < 20; i++) await client.call('Check', {});
      expect(a.calls + b.calls).toBe(20);
      expect(Math.min(a.calls, b.calls)).toBeGreaterThanOrEqual(5);
      serverA.kill();
      const before = b.calls;
      for (let i = 0; i < 10; i++) await expect(client.call('Check', {})).resolves.toEqual({ status: 1 }); // SERVING
      expect(b.calls - before).toBe(10);
    } finally {
      client.close();
      await serverB.close();
    }
  });
});
