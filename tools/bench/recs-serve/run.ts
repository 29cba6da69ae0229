// Recommender serving bench: trains a model (BENCH_MODEL, iALS by default) with the built `recs` CLI, promotes it, starts the built service
// and drives Recommend (top-10 over the whole catalogue, random known users) with ghz at a fixed
// concurrency; the anchor is grpc.health.v1.Health/Check on the same server under the same load, so the
// ratio isolates the cost of scoring and ranking from gRPC and Nest. Prints one JSON line.
// Run by Node 24 with type stripping: erasable TypeScript only, npm packages only.
import grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { childPids, envInt, freePort, note, NODE, REPO, round, runDir, spawnLogged, stopChild, waitForReady } from '../lib/bench.ts';
import { atOfferedRates, ghz, ghzCall, ghzWithServerCpu, type GhzLoad, type GhzServerResult } from '../lib/ghz.ts';
import { loadProto } from '../lib/proto.ts';
import { RECS, ratingsFile } from '../recs-train/ratings.ts';

const EPOCHS = envInt('BENCH_EPOCHS', 3);
// The model served: iALS by default (the one scheduled training promotes on `./pulse up`); neumf, gmf, ... also.
const MODEL = process.env['BENCH_MODEL'] ?? 'ials';
const CONCURRENCY = envInt('BENCH_CONCURRENCY', 16);
const REQUESTS = envInt('BENCH_REQUESTS', 20_000);
const ROUNDS = envInt('BENCH_ROUNDS', 2);

// Offered rates (calls/s) of the open-loop runs: p50/p99/p99.9 with calls started on schedule, not back to back.
const RATES = (process.env['BENCH_RATES'] ?? '500,1000,2000').split(',').filter(Boolean).map(Number);
const RATE_SECONDS = envInt('BENCH_RATE_SECONDS', 10);
// The service's RECS_SCORING_THREADS (0: the catalogue scored on the thread that answers gRPC) and SERVICE_PROCESSES.
const SCORING_THREADS = envInt('BENCH_SCORING_THREADS', 1);
const PROCESSES = envInt('BENCH_SERVICE_PROCESSES', 1);

/**
 * A GET on a connection of its own: fetch would reuse the pooled connection of the readiness check, which the server
 * closed while ghz held this thread (execFileSync), and fail.
 */
function freshGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url}: HTTP ${res.statusCode}`))));
    }).on('error', reject);
  });
}

// Lists decoded and checked before the load (iALS only: the bench recomputes them from the saved factors).
const VERIFY_USERS = envInt('BENCH_VERIFY_USERS', 50);

const floats = (path: string) => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const ints = (path: string) => {
  const b = readFileSync(path);
  return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

/**
 * The top-10 of an iALS version for each user, worked out here from the files the registry holds (item and user
 * factors, what each user rated in training): every item scored `v_i · p_u` (float64 sums stored as float32, as the
 * service does), the rated ones left out, ties to the lower index. With no peers and no live state the service's
 * list is the model's order, so its item ids must be exactly these.
 */
function expectedIalsLists(versionDir: string, users: readonly number[]): string[][] {
  const model = join(versionDir, 'model');
  const d = (JSON.parse(readFileSync(join(model, 'ials.json'), 'utf8')) as { config: { factors: number } }).config.factors;
  const userVectors = floats(join(model, 'ials.users.bin'));
  const itemVectors = floats(join(model, 'ials.items.bin'));
  const offsets = ints(join(versionDir, 'seen.offsets.bin'));
  const seen = ints(join(versionDir, 'seen.items.bin'));
  const ids = JSON.parse(readFileSync(join(versionDir, 'ids.json'), 'utf8')) as { items: string[] };
  const n = itemVectors.length / d;
  return users.map((u) => {
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < d; j++) sum += userVectors[u * d + j] * itemVectors[i * d + j];
      scores[i] = sum;
    }
    const rated = new Set(seen.subarray(offsets[u], offsets[u + 1]));
    return Array.from(scores.keys())
      .filter((i) => !rated.has(i))
      .sort((a, b) => scores[b] - scores[a] || a - b)
      .slice(0, 10)
      .map((i) => ids.items[i]);
  });
}

/** Recommend for the first `count` users, decoded and compared with the lists worked out from the model's files. */
async function verifyLists(address: string, versionDir: string, userIds: readonly string[], count: number): Promise<number> {
  const users = Array.from({ length: Math.min(count, userIds.length) }, (_, u) => u);
  const expected = expectedIalsLists(versionDir, users);
  const pkg = grpc.loadPackageDefinition(loadProto('pulse/recs/v1/recs_service.proto')) as any;
  const connections = Array.from(
    { length: PROCESSES },
    () => new pkg.pulse.recs.v1.RecsService(address, grpc.credentials.createInsecure()),
  );
  try {
    for (const u of users) {
      const client = connections[u % connections.length];
      const r = await new Promise<{ items: { itemId: string }[] }>((resolve, reject) =>
        client.Recommend(
          { userId: userIds[u], numResults: 10, excludeSeen: true },
          { deadline: Date.now() + 10_000 },
          (e: Error | null, v: any) => (e ? reject(e) : resolve(v)),
        ),
      );
      const got = r.items.map((i) => i.itemId);
      if (JSON.stringify(got) !== JSON.stringify(expected[u])) {
        throw new Error(`Recommend for user ${userIds[u]} answered [${got.join(', ')}], the model's top-10 is [${expected[u].join(', ')}]`);
      }
    }
  } finally {
    for (const c of connections) c.close();
  }
  return users.length;
}

async function main(): Promise<void> {
  const dir = runDir('recs-serve');
  const source = ratingsFile(dir);
  const models = join(dir, 'models');
  note(`training ${MODEL} (${EPOCHS} epochs) on ${source} and promoting it`);
  const version = execFileSync(
    NODE,
    [RECS, 'train', source, '--model', MODEL, '--epochs', String(EPOCHS), '--models-dir', models, '--promote'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  ).trim();
  const ids = JSON.parse(readFileSync(join(models, 'versions', version, 'ids.json'), 'utf8')) as { users: string[]; items: string[] };
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const logFile = join(dir, 'recommender.log');
  const nodeArgs = (process.env['BENCH_SERVICE_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const service = spawnLogged(NODE, [...nodeArgs, join(REPO, 'dist/apps/recommender/main.js')], {
    // The bench measures serving: ghz calls without credentials (PULSE_AUTH=off, local only).
    env: {
      ...process.env,
      GRPC_PORT: String(grpcPort),
      HTTP_PORT: String(httpPort),
      RECS_MODELS_DIR: models,
      // Its own keys and no consumers: posts and actions other runs left on the stack's Kafka and Redis (the suite's)
      // are not in its catalogue or live state, so every list is the model's own (verifyLists).
      RECS_REDIS_PREFIX: `bench:recs:${process.pid}:`,
      RECS_CATALOG_CONSUMER: 'false',
      RECS_LIVE_CONSUMER: 'false',
      RECS_SCORING_THREADS: String(SCORING_THREADS),
      SERVICE_PROCESSES: String(PROCESSES),
      LOG_LEVEL: 'warn',
      PULSE_AUTH: 'off',
    },
    logFile,
  });
  try {
    await waitForReady(service, httpPort, { name: 'recommender', logFile, timeoutMs: 30_000 });
    const address = `127.0.0.1:${grpcPort}`;
    const verified = MODEL === 'ials' ? await verifyLists(address, join(models, 'versions', version), ids.users, VERIFY_USERS) : 0;
    if (verified > 0) note(`${verified} lists decoded: each the model's own top-10`);
    // Known users from the model's id map, round-robin (ghz sends the elements of an array in turn): every
    // request is personalised and scores the whole catalogue.
    const dataFile = join(dir, 'requests.json');
    writeFileSync(dataFile, JSON.stringify(ids.users.slice(0, 512).map((u) => ({ user_id: u, num_results: 10, exclude_seen: true }))));
    const recommend = [...ghzCall('pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService.Recommend'), '--data-file', dataFile];
    const health = [...ghzCall('grpc/health/v1/health.proto', 'grpc.health.v1.Health.Check'), '-d', '{}'];
    // A clustered service (SERVICE_PROCESSES) serves each connection on one worker: as many connections as workers,
    // and the server's CPU is its workers' (and the primary's, which only hands connections over).
    const connections = PROCESSES;
    const closed: GhzLoad = { concurrency: CONCURRENCY, requests: REQUESTS, connections };
    ghz(address, recommend, { concurrency: CONCURRENCY, requests: 2000, connections }); // warm-up
    const servicePids = [service.pid as number, ...childPids(service.pid as number)];
    const rounds: { anchor: Measured; recommend: Measured }[] = [];
    // The service's own CPU per call: steadier than latency when other work shares the two cores.
    type Measured = GhzServerResult;
    const measured = (args: readonly string[], load: GhzLoad): Measured =>
      ghzWithServerCpu(address, servicePids, args, { ...load, connections });
    for (let r = 1; r <= ROUNDS; r++) {
      const anchor = measured(health, closed);
      const subject = measured(recommend, closed);
      note(
        `round ${r}: Health/Check p50 ${anchor.p50_ms} ms, Recommend p50 ${subject.p50_ms} ms p99 ${subject.p99_ms} ms, ${subject.rps} rps`,
      );
      rounds.push({ anchor, recommend: subject });
    }
    const best = rounds.reduce((a, b) => (b.recommend.p50_ms < a.recommend.p50_ms ? b : a));
    const offered = atOfferedRates(RATES, RATE_SECONDS, { recommend: recommend }, health, measured);
    // Where the catalogue was scored: on the scoring threads or in the thread answering gRPC (the service's metric).
    const metrics = await freshGet(`http://127.0.0.1:${httpPort}/metrics`);
    const scoredOn = Object.fromEntries(
      [...metrics.matchAll(/^recs_scoring_calls_total\{[^}]*on="(\w+)"[^}]*\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]),
    );
    process.stdout.write(
      `${JSON.stringify({
        bench: 'recs-serve',
        data: source,
        model: { version, algorithm: MODEL, epochs: EPOCHS, users: ids.users.length, items: ids.items.length },
        lists_verified: verified,
        scoring_threads: SCORING_THREADS,
        scorings_by_thread: scoredOn,
        service_processes: PROCESSES,
        concurrency: CONCURRENCY,
        requests_per_round: REQUESTS,
        recommend_top10: best.recommend,
        anchor_health_check: best.anchor,
        p50_ratio_to_anchor: round(best.recommend.p50_ms / best.anchor.p50_ms, 2),
        rps_ratio_to_anchor: round(best.recommend.rps / best.anchor.rps, 3),
        service_cpu_ms_per_call: { recommend: best.recommend.service_cpu_ms_per_call, health_check: best.anchor.service_cpu_ms_per_call },
        per_round: rounds,
        offered_rates: offered,
        goal: 'p99 <= 5 ms at 1,000 calls/s offered; rps >= 0.3x the health check',
        goal_met:
          ((offered.find((o) => o.offered_rps === 1000)?.['recommend'] as Measured | undefined)?.p99_ms ?? Infinity) <= 5 &&
          best.recommend.rps / best.anchor.rps >= 0.3,
      })}\n`,
    );
  } finally {
    await stopChild(service);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
