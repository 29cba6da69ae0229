// The feature store bench: GetOnlineFeatures for 1 entity x 50 features under concurrent load, beside
// raw ioredis HGETALL of the same hashes in the same Redis (the anchor) and, when it installs, Feast's own
// Python feature server serving the same 50 features of the same entities from the same Redis.
// Prints one JSON line. Run by Node 24 with type stripping: erasable TypeScript only, npm packages only.
//
// What runs:
// 1. A definitions repo with one entity (user_id) and one view of 50 double features (push source, ttl
//    1 d) and a feature service of all 50; applied with the built registry CLI into a fresh PostgreSQL
//    schema bench_fs_<run> (dropped at the end).
// 2. The feature store from dist/apps/feature-store/main.js on free ports, Redis keys under
//    pulse:fs-bench:<run>: (deleted at the end). BENCH_ENTITIES users get their 50 values through Push.
// 3. Feast (PyPI `feast`, in a venv under ~/.cache/pulse-tools/feast-venv, installed when missing): a repo
//    with the same view, its values written by Feast's own Redis writer, `feast serve` (HTTP, one worker)
//    on a free port. Its keys are removed with `feast teardown` logic at the end. BENCH_FEAST=0 skips it.
// 4. BENCH_ROUNDS rounds; each round runs, for each system in turn, a closed loop of BENCH_CONCURRENCY
//    requests in flight for BENCH_SECONDS (after BENCH_WARMUP_SECONDS), each request one random entity:
//    - anchor: ioredis `HGETALL <the entity's hash>` (auto-pipelined on one connection: concurrent
//      commands share round trips), reading the very hashes the service reads;
//    - pulse: gRPC GetOnlineFeatures, one entity row, feature_service of the 50 features (one channel);
//    - feast: HTTP POST /get-online-features with the 50 feature refs (keep-alive connections).
//    Then the same with one request in flight (BENCH_LATENCY_SECONDS): latency without queueing.
//    Best round per system by requests/s; latency percentiles are of that round. Pulse requests are encoded
//    once per entity and responses taken as bytes; every BENCH_VERIFY_EVERY-th (16) is decoded and checked
//    in full (50 values, all PRESENT, the entity's known values); every Feast response is parsed and checked.
// 5. ghz (Go client, far less client CPU than Node's): BENCH_GHZ_REQUESTS calls with BENCH_CONCURRENCY in
//    flight, of GetOnlineFeatures and of the same server's Health/Check (the floor of grpc-js and Nest's
//    transport); then GetOnlineFeatures offered at each of BENCH_RATES calls/s for BENCH_RATE_SECONDS
//    (p50/p99/p99.9, the service's CPU per call).
import grpc from '@grpc/grpc-js';
import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import pg from 'pg';
import {
  childPids,
  CpuMeter,
  type CpuReport,
  envFlag,
  envInt,
  freePort,
  median,
  NODE,
  note,
  percentile,
  REDIS_URL,
  REPO,
  round,
  RUN_ID,
  runDir,
  sleep,
  spawnLogged,
  stackPids,
  stopChild,
  tail,
  waitForReady,
} from '../lib/bench.ts';
import { atOfferedRates, ghzCall, type GhzLoad, type GhzResult, ghzWithServerCpu } from '../lib/ghz.ts';
import { loadProto } from '../lib/proto.ts';

const opts = {
  entities: envInt('BENCH_ENTITIES', 10_000),
  features: 50,
  concurrency: envInt('BENCH_CONCURRENCY', 16),
  rounds: envInt('BENCH_ROUNDS', 2),
  seconds: envInt('BENCH_SECONDS', 6),
  latencySeconds: envInt('BENCH_LATENCY_SECONDS', 3),
  warmupSeconds: envInt('BENCH_WARMUP_SECONDS', 2),
  feast: envFlag('BENCH_FEAST', true),
  ghzRequests: envInt('BENCH_GHZ_REQUESTS', 30_000),
  rates: (process.env['BENCH_RATES'] ?? '500,1000,2000').split(',').filter(Boolean).map(Number),
  rateSeconds: envInt('BENCH_RATE_SECONDS', 10),
  pgUrl: process.env['PG_URL'] ?? 'postgres://pulse:pulse@127.0.0.1:25432/pulse',
  dist: join(REPO, 'dist/apps/feature-store'),
  /** SERVICE_PROCESSES of the service; the clients then open as many connections (a connection stays on one worker). */
  serviceProcesses: envInt('BENCH_SERVICE_PROCESSES', 1),
};

const FEAST_GO_PUBLISHED_P99_MS = 1.78;
const VENV = join(homedir(), '.cache/pulse-tools/feast-venv');
const SCHEMA = `bench_fs_${RUN_ID}`;
const PREFIX = `pulse:fs-bench:${RUN_ID}:`;
const PROJECT = 'pulse';
const VIEW = 'bench_user_50';
const NAMES = Array.from({ length: opts.features }, (_, i) => `f${String(i).padStart(2, '0')}`);
const dir = runDir('features');

const children: ChildProcess[] = [];

interface Run {
  requests: number;
  seconds: number;
  latenciesMs: number[];
}

interface Summary {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
}

function summarize(run: Run): Summary {
  const sorted = [...run.latenciesMs].sort((a, b) => a - b);
  return {
    rps: round(run.requests / run.seconds),
    p50_ms: round(percentile(sorted, 50), 3),
    p99_ms: round(percentile(sorted, 99), 3),
    requests: run.requests,
  };
}

/** A closed loop: `concurrency` workers each awaiting `op` back to back; latencies of the window only. */
async function closedLoop(op: (entity: number) => Promise<void>, concurrency: number, seconds: number): Promise<Run> {
  const warmupEnd = performance.now() + opts.warmupSeconds * 1000;
  const end = warmupEnd + seconds * 1000;
  const latenciesMs: number[] = [];
  let requests = 0;
  let failure: unknown;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (failure === undefined) {
        const t0 = performance.now();
        if (t0 >= end) return;
        try {
          await op(Math.floor(Math.random() * opts.entities));
        } catch (error) {
          failure = error;
          return;
        }
        const t1 = performance.now();
        if (t0 >= warmupEnd && t1 <= end) {
          latenciesMs.push(t1 - t0);
          requests++;
        }
      }
    }),
  );
  if (failure !== undefined) throw failure;
  return { requests, seconds, latenciesMs };
}

// ---------------------------------------------------------------- the feature store

function repoYaml(): string {
  return `project: ${PROJECT}
entities:
  - { name: user, join_key: user_id }
feature_views:
  - name: ${VIEW}
    entities: [user]
    ttl: 1d
    source: { name: bench_push, type: push }
    features:
${NAMES.map((n) => `      - { name: ${n}, type: double }`).join('\n')}
feature_services:
  - name: bench_service
    features:
      - { feature_view: ${VIEW} }
`;
}

function serviceEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LOG_LEVEL: 'warn',
    // The bench measures the service's own work: calls go without credentials (PULSE_AUTH=off, local only).
    PULSE_AUTH: 'off',
    REDIS_URL,
    PG_URL: opts.pgUrl,
    FEATURE_STORE_PG_SCHEMA: SCHEMA,
    FEATURE_STORE_PROJECT: PROJECT,
    FEATURE_STORE_REDIS_PREFIX: PREFIX,
    FEATURE_STORE_AGGREGATES_CONSUMER: 'false',
    LAKE_ROOT: join(dir, 'lake'),
    SERVICE_PROCESSES: String(opts.serviceProcesses),
    ...extra,
  };
}

async function startService(): Promise<{ child: ChildProcess; grpcPort: number }> {
  const repo = join(dir, 'repo');
  mkdirSync(repo, { recursive: true });
  writeFileSync(join(repo, 'bench.yaml'), repoYaml());
  const applied = spawnSync(NODE, [join(opts.dist, 'registry-cli.js'), 'apply', '--repo', repo], { env: serviceEnv({}), encoding: 'utf8' });
  if (applied.status !== 0) throw new Error(`registry apply failed:\n${applied.stdout}${applied.stderr}`);
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const log = join(dir, 'feature-store.log');
  const nodeArgs = (process.env['BENCH_SERVICE_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = spawnLogged(NODE, [...nodeArgs, join(opts.dist, 'main.js')], {
    env: serviceEnv({ GRPC_PORT: String(grpcPort), HTTP_PORT: String(httpPort) }),
    logFile: log,
  });
  children.push(child);
  await waitForReady(child, httpPort, { name: 'feature store', logFile: log });
  return { child, grpcPort };
}

type Unary = (method: string, request: unknown) => Promise<any>;

interface ServiceClient {
  call: Unary;
  /** GetOnlineFeatures with a request encoded once per entity and the response left as bytes. */
  rawGet: (requestBytes: Buffer) => Promise<Buffer>;
  encodeGet: (request: unknown) => Buffer;
  decodeGet: (bytes: Buffer) => any;
  close: () => void;
}

/** A client over `connections` connections of its own (their calls in turn): one per worker of a clustered service. */
function serviceClient(port: number, connections = 1): ServiceClient {
  const definition = loadProto('pulse/features/v1/features_service.proto');
  const pkg = grpc.loadPackageDefinition(definition) as any;
  const clients = Array.from(
    { length: connections },
    () =>
      new pkg.pulse.features.v1.FeaturesService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
      }),
  );
  let turn = 0;
  const next = () => clients[turn++ % clients.length];
  const client = clients[0];
  const method = (definition['pulse.features.v1.FeaturesService'] as any).GetOnlineFeatures;
  const identity = (b: Buffer) => b;
  return {
    call: (name, request) =>
      new Promise((resolve, reject) =>
        client[name](request, (error: Error | null, response: unknown) => (error ? reject(error) : resolve(response))),
      ),
    rawGet: (requestBytes) =>
      new Promise((resolve, reject) =>
        next().makeUnaryRequest(method.path, identity, identity, requestBytes, (error: Error | null, response: Buffer) =>
          error ? reject(error) : resolve(response),
        ),
      ),
    encodeGet: (request) => method.requestSerialize(request),
    decodeGet: (bytes) => method.responseDeserialize(bytes),
    close: () => clients.forEach((c) => c.close()),
  };
}

const valueOf = (entity: number, feature: number) => entity + feature;

async function populate(call: Unary): Promise<void> {
  const now = Date.now() - 60_000;
  for (let start = 0; start < opts.entities; start += 1000) {
    const rows = [];
    for (let e = start; e < Math.min(opts.entities, start + 1000); e++) {
      rows.push({
        joinKeys: { user_id: { stringValue: `u${e}` } },
        features: Object.fromEntries(NAMES.map((n, j) => [n, { doubleValue: valueOf(e, j) }])),
        eventTimestamp: { seconds: Math.floor(now / 1000), nanos: 0 },
      });
    }
    const res = await call('Push', { featureView: VIEW, rows });
    if (res.onlineRows !== rows.length) throw new Error(`Push wrote ${res.onlineRows} of ${rows.length} rows`);
  }
}

// ---------------------------------------------------------------- Feast

interface FeastSide {
  version: string;
  url: string;
  child: ChildProcess;
  repo: string;
  /** The worker process(es) `feast serve` forks; they do the serving. */
  workers: number[];
}

function feastPython(): string {
  return join(VENV, 'bin/python');
}

function ensureFeast(): string {
  if (!existsSync(join(VENV, 'bin/feast'))) {
    note('installing feast into ~/.cache/pulse-tools/feast-venv (pip install feast redis)');
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: ['ignore', 'ignore', 'pipe'] });
    const pip = spawnSync(join(VENV, 'bin/pip'), ['install', '-q', 'feast', 'redis'], { encoding: 'utf8' });
    if (pip.status !== 0)
      throw new Error(`pip install feast failed: ${(pip.stderr || pip.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  }
  return execFileSync(feastPython(), ['-c', 'import feast; print(feast.__version__)'], { encoding: 'utf8' }).trim();
}

async function startFeast(): Promise<FeastSide> {
  const version = ensureFeast();
  const repo = join(dir, 'feast');
  mkdirSync(repo, { recursive: true });
  const project = `bench_${RUN_ID}`;
  const setup = spawnSync(
    feastPython(),
    [join(REPO, 'tools/bench/features/feast_anchor.py'), 'setup', repo, project, REDIS_URL, String(opts.entities), String(opts.features)],
    {
      encoding: 'utf8',
      cwd: repo,
    },
  );
  if (setup.status !== 0) throw new Error(`feast setup failed: ${(setup.stderr || setup.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  const port = await freePort();
  const log = join(dir, 'feast-serve.log');
  // One worker (like the one Node process of the feature store); no periodic worker restarts in the window.
  const child = spawnLogged(
    join(VENV, 'bin/feast'),
    ['-c', repo, 'serve', '-h', '127.0.0.1', '-p', String(port), '--no-access-log', '-w', '1', '--max-requests', '100000000'],
    {
      env: process.env,
      logFile: log,
      cwd: repo,
    },
  );
  children.push(child);
  const url = `http://127.0.0.1:${port}/get-online-features`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`feast serve exited: ${tail(log, 5)}`);
    try {
      const res = await feastRequest(url, 0);
      if (res) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`feast serve not ready after 90 s: ${tail(log, 5)}`);
    await sleep(300);
  }
  return { version, url, child, repo, workers: child.pid === undefined ? [] : childPids(child.pid) };
}

const FEAST_REFS = NAMES.map((n) => `${VIEW}:${n}`);

async function feastRequest(url: string, entity: number): Promise<boolean> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ features: FEAST_REFS, entities: { user_id: [`u${entity}`] } }),
  });
  if (!res.ok) throw new Error(`feast answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { results: { values: unknown[]; statuses: string[] }[] };
  // results[0] is the join key; then one entry per feature.
  if (body.results.length !== opts.features + 1 || body.results.slice(1).some((r) => r.statuses[0] !== 'PRESENT')) {
    throw new Error(`feast answered without the ${opts.features} values PRESENT`);
  }
  return true;
}

// ---------------------------------------------------------------- main

async function cleanup(feastRepo: string | undefined): Promise<void> {
  for (const child of children) await stopChild(child).catch(() => undefined);
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  const client = new pg.Client({ connectionString: opts.pgUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`).finally(() => client.end());
  if (feastRepo) spawnSync(feastPython(), [join(REPO, 'tools/bench/features/feast_anchor.py'), 'teardown', feastRepo], { cwd: feastRepo });
}

async function main() {
  let feast: FeastSide | undefined;
  let feastError: string | undefined;
  try {
    note(`starting the feature store (schema ${SCHEMA})`);
    const service = await startService();
    const grpcClient = serviceClient(service.grpcPort, opts.serviceProcesses);
    // A clustered service serves on its workers (the primary hands connections over): their CPU is the server's.
    const servicePids = [service.child.pid as number, ...childPids(service.child.pid as number)];
    const { call, close } = grpcClient;
    note(`pushing ${opts.entities} entities x ${opts.features} features`);
    await populate(call);

    if (opts.feast) {
      try {
        note('starting Feast (feast serve, Redis online store)');
        feast = await startFeast();
      } catch (error) {
        feastError = error instanceof Error ? error.message : String(error);
        note(`Feast is left out: ${feastError}`);
      }
    } else feastError = 'skipped (BENCH_FEAST=0)';

    const anchorRedis = new Redis(REDIS_URL, { enableAutoPipelining: true });
    const hashKey = (e: number) => `${PREFIX}${PROJECT}:user_id=u${e}`;
    const probe = await anchorRedis.hgetall(hashKey(7));
    if (Object.keys(probe).length !== opts.features + 1)
      throw new Error(`expected ${opts.features + 1} fields in ${hashKey(7)}, found ${Object.keys(probe).length}`);

    const anchorOp = async (e: number) => {
      const h = await anchorRedis.hgetall(hashKey(e));
      if (h[`${VIEW}:f00`] === undefined) throw new Error(`no value in ${hashKey(e)}`);
    };
    // Requests encoded once per entity; responses counted as bytes, every BENCH_VERIFY_EVERY-th one decoded
    // and checked in full (50 values, all PRESENT, the entity's values), so the client spends little CPU.
    const verifyEvery = envInt('BENCH_VERIFY_EVERY', 16);
    const requests = Array.from({ length: opts.entities }, (_, e) =>
      grpcClient.encodeGet({ entityRows: [{ joinKeys: { user_id: { stringValue: `u${e}` } } }], featureService: 'bench_service' }),
    );
    let checked = 0;
    let answered = 0;
    const pulseOp = async (e: number) => {
      const bytes = await grpcClient.rawGet(requests[e]);
      if (bytes.length < opts.features * 10) throw new Error(`GetOnlineFeatures answered ${bytes.length} bytes`);
      if (answered++ % verifyEvery !== 0) return;
      const res = grpcClient.decodeGet(bytes);
      const features = res.rows[0].features as { status: number; value: { doubleValue: number } }[];
      if (features.length !== opts.features) throw new Error(`GetOnlineFeatures returned ${features.length} features`);
      for (let j = 0; j < features.length; j++) {
        if (features[j].status !== 1 || features[j].value.doubleValue !== valueOf(e, j)) throw new Error(`wrong value for u${e} f${j}`);
      }
      checked++;
    };
    const feastOp = feast ? async (e: number) => void (await feastRequest(feast!.url, e)) : undefined;

    const pids = stackPids(['redis']);
    const systems: { name: string; op: (e: number) => Promise<void>; pids: number[] }[] = [
      { name: 'anchor_redis_hgetall', op: anchorOp, pids: [] },
      { name: 'pulse', op: pulseOp, pids: servicePids },
      ...(feastOp && feast ? [{ name: 'feast', op: feastOp, pids: [feast.child.pid ?? 0, ...feast.workers].filter(Boolean) }] : []),
    ];
    const load: Record<string, Run[]> = {};
    const latency: Record<string, Run[]> = {};
    const cpu: Record<string, CpuReport[]> = {};
    for (let round_ = 1; round_ <= opts.rounds; round_++) {
      for (const s of systems) {
        note(`round ${round_}/${opts.rounds}: ${s.name}, ${opts.concurrency} in flight`);
        const meter = new CpuMeter().track('redis', pids['redis']).track('bench_client', process.pid);
        s.pids.forEach((pid, i) => meter.track(i === 0 ? 'server' : `server_worker_${i}`, pid));
        meter.start();
        (load[s.name] ??= []).push(await closedLoop(s.op, opts.concurrency, opts.seconds));
        (cpu[s.name] ??= []).push(meter.stop());
        note(`round ${round_}/${opts.rounds}: ${s.name}, 1 in flight`);
        (latency[s.name] ??= []).push(await closedLoop(s.op, 1, opts.latencySeconds));
      }
    }
    // The same service under ghz (a Go client: little client CPU beside the Node one above), closed loop beside the
    // server's own Health/Check, then calls offered at fixed rates. ghz's responses are counted, not decoded: the
    // rounds above check the values.
    const address = `127.0.0.1:${service.grpcPort}`;
    const dataFile = join(dir, 'ghz-requests.json');
    writeFileSync(
      dataFile,
      JSON.stringify(
        Array.from({ length: 1000 }, (_, i) => ({
          entity_rows: [{ join_keys: { user_id: { string_value: `u${(i * 7919) % opts.entities}` } } }],
          feature_service: 'bench_service',
        })),
      ),
    );
    const getOnline = [
      ...ghzCall('pulse/features/v1/features_service.proto', 'pulse.features.v1.FeaturesService.GetOnlineFeatures'),
      '--data-file',
      dataFile,
    ];
    const health = [...ghzCall('grpc/health/v1/health.proto', 'grpc.health.v1.Health.Check'), '-d', '{}'];
    const measured = (args: readonly string[], load: GhzLoad) => {
      const { service_cpu_ms_per_call, ...result } = ghzWithServerCpu(address, servicePids, args, {
        ...load,
        connections: opts.serviceProcesses,
      });
      if (result.ok !== result.count) throw new Error(`ghz: ${result.count - result.ok} calls failed: ${JSON.stringify(result.errors)}`);
      return { ...result, server_cpu_us_per_call: round(service_cpu_ms_per_call * 1000) };
    };
    note(`ghz: ${opts.concurrency} in flight, GetOnlineFeatures and Health/Check`);
    const closedLoad: GhzLoad = { concurrency: opts.concurrency, requests: opts.ghzRequests };
    measured(getOnline, { concurrency: opts.concurrency, requests: 2000 }); // warm-up
    const ghzClosed = { get_online_features: measured(getOnline, closedLoad), health_check: measured(health, closedLoad) };
    const offered = atOfferedRates(opts.rates, opts.rateSeconds, { get_online_features: getOnline }, health, measured);
    close();
    anchorRedis.disconnect();

    const best = (runs: Run[]) => runs.reduce((a, b) => (b.requests / b.seconds > a.requests / a.seconds ? b : a));
    const report = (name: string) => {
      const i = load[name].indexOf(best(load[name]));
      return {
        under_load: summarize(load[name][i]),
        one_in_flight: summarize(best(latency[name])),
        runs_rps: load[name].map((r) => round(r.requests / r.seconds)),
        cpu_pct_of_core_best_run: cpu[name][i].processes,
      };
    };
    const pulse = report('pulse');
    const anchor = report('anchor_redis_hgetall');
    const feastReport = feast ? report('feast') : undefined;
    const maxOther = Math.max(
      ...Object.values(cpu)
        .flat()
        .map((c) => c.processes['other'] ?? 0),
    );
    const result = {
      bench: 'features',
      what: 'GetOnlineFeatures, 1 entity x 50 double features (one feature service), random entity per request',
      entities: opts.entities,
      features: opts.features,
      concurrency: opts.concurrency,
      rounds: opts.rounds,
      window_s: opts.seconds,
      service_processes: opts.serviceProcesses,
      pulse,
      anchor_redis_hgetall: {
        ...anchor,
        how: 'ioredis HGETALL of the same entity hashes, auto-pipelined on one connection, same concurrency',
      },
      ratio_rps_vs_anchor: round(pulse.under_load.rps / anchor.under_load.rps, 3),
      ratio_of_medians_rps_vs_anchor: round(
        median(load['pulse'].map((r) => r.requests)) / median(load['anchor_redis_hgetall'].map((r) => r.requests)),
        3,
      ),
      goal_ratio_vs_anchor: 0.5,
      feast: feastReport
        ? { version: feast!.version, server: 'feast serve (Python, HTTP, 1 worker), Redis online store', ...feastReport }
        : { error: feastError },
      ratio_rps_vs_feast: feastReport ? round(pulse.under_load.rps / feastReport.under_load.rps, 2) : null,
      feast_go_server_published_p99_ms: FEAST_GO_PUBLISHED_P99_MS,
      pulse_p99_ms_one_in_flight_vs_feast_go_published: round(pulse.one_in_flight.p99_ms / FEAST_GO_PUBLISHED_P99_MS, 2),
      ghz_closed_loop: {
        ...ghzClosed,
        ratio_rps_vs_health_check: round(ghzClosed.get_online_features.rps / ghzClosed.health_check.rps, 3),
        ratio_rps_vs_anchor_redis: round(ghzClosed.get_online_features.rps / anchor.under_load.rps, 3),
      },
      ghz_offered_rates: offered,
      goal_p99_ms_at_2000_offered: 5,
      goal_met:
        ghzClosed.get_online_features.rps / anchor.under_load.rps >= 0.5 &&
        ((offered.find((o) => o.offered_rps === 2000)?.['get_online_features'] as GhzResult | undefined)?.p99_ms ?? Infinity) <= 5,
      pulse_responses_decoded_and_checked: checked,
      pulse_responses: answered,
      noisy: maxOther > 25,
      max_other_cpu_pct_of_core: maxOther,
      cores: cpu['pulse'][0].cores,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await cleanup(feast?.repo);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
