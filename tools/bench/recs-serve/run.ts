// Recommender serving bench: trains a NeuMF with the built `recs` CLI, promotes it, starts the built service
// and drives Recommend (top-10 over the whole catalogue, random known users) with ghz at a fixed
// concurrency; the anchor is grpc.health.v1.Health/Check on the same server under the same load, so the
// ratio isolates the cost of scoring and ranking from gRPC and Nest. Prints one JSON line.
// Run by Node 24 with type stripping: erasable TypeScript only, npm packages only.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  envInt,
  freePort,
  note,
  NODE,
  processCpuSeconds,
  REPO,
  round,
  runDir,
  spawnLogged,
  stopChild,
  waitForReady,
} from '../lib/bench.ts';
import { RECS, ratingsFile } from '../recs-train/ratings.ts';

const EPOCHS = envInt('BENCH_EPOCHS', 3);
const CONCURRENCY = envInt('BENCH_CONCURRENCY', 16);
const REQUESTS = envInt('BENCH_REQUESTS', 20_000);
const ROUNDS = envInt('BENCH_ROUNDS', 2);
const GHZ = process.env['GHZ'] ?? 'ghz';

type Json = Record<string, any>;

function ghz(address: string, args: string[], requests = REQUESTS): Json {
  const out = execFileSync(GHZ, ['--insecure', '--format', 'json', '-c', String(CONCURRENCY), '-n', String(requests), ...args, address], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const r = JSON.parse(out) as Json;
  const pct = (p: number) =>
    (r.latencyDistribution as { percentage: number; latency: number }[]).find((x) => x.percentage === p)?.latency ?? NaN;
  return {
    rps: round(r.rps),
    p50_ms: round(pct(50) / 1e6, 3),
    p99_ms: round(pct(99) / 1e6, 3),
    count: r.count,
    ok: r.statusCodeDistribution?.OK ?? 0,
    errors: r.errorDistribution ?? {},
  };
}

async function main(): Promise<void> {
  const dir = runDir('recs-serve');
  const source = ratingsFile(dir);
  const models = join(dir, 'models');
  note(`training NeuMF (${EPOCHS} epochs) on ${source} and promoting it`);
  const version = execFileSync(
    NODE,
    [RECS, 'train', source, '--model', 'neumf', '--epochs', String(EPOCHS), '--models-dir', models, '--promote'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  ).trim();
  const ids = JSON.parse(readFileSync(join(models, 'versions', version, 'ids.json'), 'utf8')) as { users: string[]; items: string[] };
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const logFile = join(dir, 'recommender.log');
  const service = spawnLogged(NODE, [join(REPO, 'dist/apps/recommender/main.js')], {
    // The bench measures serving: ghz calls without credentials (PULSE_AUTH=off, local only).
    env: {
      ...process.env,
      GRPC_PORT: String(grpcPort),
      HTTP_PORT: String(httpPort),
      RECS_MODELS_DIR: models,
      LOG_LEVEL: 'warn',
      PULSE_AUTH: 'off',
    },
    logFile,
  });
  try {
    await waitForReady(service, httpPort, { name: 'recommender', logFile, timeoutMs: 30_000 });
    const address = `127.0.0.1:${grpcPort}`;
    const proto = ['--import-paths', join(REPO, 'proto')];
    // Known users from the model's id map, round-robin (ghz sends the elements of an array in turn): every
    // request is personalised and scores the whole catalogue.
    const dataFile = join(dir, 'requests.json');
    writeFileSync(dataFile, JSON.stringify(ids.users.slice(0, 512).map((u) => ({ user_id: u, num_results: 10, exclude_seen: true }))));
    const recommend = [
      ...proto,
      '--proto',
      join(REPO, 'proto/pulse/recs/v1/recs_service.proto'),
      '--call',
      'pulse.recs.v1.RecsService.Recommend',
      '--data-file',
      dataFile,
    ];
    const health = [
      ...proto,
      '--proto',
      join(REPO, 'proto/grpc/health/v1/health.proto'),
      '--call',
      'grpc.health.v1.Health.Check',
      '-d',
      '{}',
    ];
    ghz(address, recommend, 2000); // warm-up
    const rounds: Json[] = [];
    // The service's own CPU per call: steadier than latency when other work shares the two cores.
    const measured = (args: string[]) => {
      const before = processCpuSeconds(service.pid as number) ?? NaN;
      const result = ghz(address, args);
      const cpu = (processCpuSeconds(service.pid as number) ?? NaN) - before;
      return { ...result, service_cpu_ms_per_call: round((cpu * 1000) / result.count, 3) };
    };
    for (let r = 1; r <= ROUNDS; r++) {
      const anchor = measured(health);
      const subject = measured(recommend);
      note(
        `round ${r}: Health/Check p50 ${anchor.p50_ms} ms, Recommend p50 ${subject.p50_ms} ms p99 ${subject.p99_ms} ms, ${subject.rps} rps`,
      );
      rounds.push({ anchor, recommend: subject });
    }
    const best = rounds.reduce((a, b) => (b.recommend.p50_ms < a.recommend.p50_ms ? b : a));
    process.stdout.write(
      `${JSON.stringify({
        bench: 'recs-serve',
        data: source,
        model: { version, algorithm: 'neumf', epochs: EPOCHS, users: ids.users.length, items: ids.items.length },
        concurrency: CONCURRENCY,
        requests_per_round: REQUESTS,
        recommend_top10: best.recommend,
        anchor_health_check: best.anchor,
        p50_ratio_to_anchor: round(best.recommend.p50_ms / best.anchor.p50_ms, 2),
        rps_ratio_to_anchor: round(best.recommend.rps / best.anchor.rps, 3),
        service_cpu_ms_per_call: { recommend: best.recommend.service_cpu_ms_per_call, health_check: best.anchor.service_cpu_ms_per_call },
        per_round: rounds,
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
