// The full loop path of Recommend on the running platform (`./pulse up`): live state, the model's candidates with
// fold-in, followed accounts' posts from storage, tag-matched and trending posts, engagement features from the
// feature store, ranking, the served event to Kafka. ghz offers Recommend at fixed rates (BENCH_RATES) to the users
// the promoted model knows, each rate beside the same server's Health/Check; a sample of lists is decoded first and
// must come back personalised with no degraded source. Prints one JSON line.
// Run by Node 24 with type stripping: erasable TypeScript only, npm packages only.
import grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CpuMeter, envInt, note, REPO, round, runDir, sleep, stackPids } from '../lib/bench.ts';
import { atOfferedRates, ghzCall, ghzWithServerCpu, type GhzLoad, type GhzResult } from '../lib/ghz.ts';
import { loadProto } from '../lib/proto.ts';

const ADDRESS = process.env['RECS_GRPC_ADDR'] ?? '127.0.0.1:50056';
const MODELS = process.env['RECS_MODELS_DIR'] ?? join(REPO, 'tmp/models');
const RATES = (process.env['BENCH_RATES'] ?? '250,500').split(',').filter(Boolean).map(Number);
const RATE_SECONDS = envInt('BENCH_RATE_SECONDS', 10);
const GOAL_P99_MS_AT_500 = 25;
// The caller's API key: PULSE_API_KEY, else the local admin key `./pulse up` wrote.
const LOCAL_KEY = join(REPO, 'tmp/pulse-admin.key');
const API_KEY = process.env['PULSE_API_KEY'] || (existsSync(LOCAL_KEY) ? readFileSync(LOCAL_KEY, 'utf8').trim() : '');

type Json = Record<string, any>;

/**
 * Every Pulse service `./pulse up` runs (found by its bundle in the process list, one process each) and the stack's
 * servers; the recommender must be among them.
 */
function platformPids(): Record<string, number> {
  const found: Record<string, number[]> = {};
  for (const line of execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n')) {
    const m = /^\s*(\d+)\s.*dist\/apps\/([\w-]+)\/main\.js/.exec(line);
    if (m) (found[m[2]] ??= []).push(Number(m[1]));
  }
  const many = Object.entries(found).filter(([, pids]) => pids.length > 1);
  if (many.length > 0 || !found['recommender']) {
    throw new Error(`expected one process of each service of ./pulse up, the recommender among them; found: ${JSON.stringify(found)}`);
  }
  return { ...Object.fromEntries(Object.entries(found).map(([name, pids]) => [name, pids[0]])), ...stackPids([]) };
}

function meter(pids: Record<string, number>): CpuMeter {
  const m = new CpuMeter();
  for (const [name, pid] of Object.entries(pids)) m.track(name, pid);
  return m.start();
}

async function sample(users: string[]): Promise<Json> {
  const pkg = grpc.loadPackageDefinition(loadProto('pulse/recs/v1/recs_service.proto')) as Json;
  const client = new pkg.pulse.recs.v1.RecsService(ADDRESS, grpc.credentials.createInsecure()) as Json;
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${API_KEY}`);
  const strategies: Record<string, number> = {};
  const sources: Record<string, number> = {};
  const degraded: string[] = [];
  for (const userId of users) {
    const r: Json = await new Promise((resolve, reject) =>
      client.Recommend(
        { userId, numResults: 10, excludeSeen: true },
        metadata,
        { deadline: Date.now() + 5_000 },
        (e: Error | null, v: Json) => (e ? reject(e) : resolve(v)),
      ),
    );
    strategies[r.strategy] = (strategies[r.strategy] ?? 0) + 1;
    for (const item of r.items) for (const s of item.sources) sources[s] = (sources[s] ?? 0) + 1;
    for (const d of r.degraded) degraded.push(`${d.dependency}: ${d.reason}`);
  }
  client.close();
  return { lists: users.length, strategies, item_sources: sources, degraded };
}

async function main(): Promise<void> {
  if (!API_KEY) throw new Error(`no API key: set PULSE_API_KEY or run ./pulse up (it writes ${LOCAL_KEY})`);
  const registry = JSON.parse(readFileSync(join(MODELS, 'registry.json'), 'utf8')) as { promoted?: string };
  if (!registry.promoted) throw new Error(`no promoted model in ${MODELS}: wait for ./pulse up's first training`);
  const ids = JSON.parse(readFileSync(join(MODELS, 'versions', registry.promoted, 'ids.json'), 'utf8')) as { users: string[] };
  const users = ids.users.slice(0, 512);
  const platform = platformPids();
  const pid = platform['recommender'];
  const checked = await sample(users.slice(0, 20));
  note(`sample: ${JSON.stringify(checked)}`);
  if (checked.degraded.length > 0) throw new Error(`the loop path is degraded: ${checked.degraded.slice(0, 3).join('; ')}`);

  const dataFile = join(runDir('recs-loop'), 'requests.json');
  writeFileSync(dataFile, JSON.stringify(users.map((u) => ({ user_id: u, num_results: 10, exclude_seen: true }))));
  const auth = ['--metadata', JSON.stringify({ authorization: `Bearer ${API_KEY}` })];
  const recommend = [
    ...ghzCall('pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService.Recommend'),
    ...auth,
    '--data-file',
    dataFile,
  ];
  const health = [...ghzCall('grpc/health/v1/health.proto', 'grpc.health.v1.Health.Check'), '-d', '{}'];
  // Where a call's time goes, per process: the CPU each service and stack server spent during a run beyond what it
  // spends with no calls at all (the simulator, etl's streams, training and the servers' own upkeep go on meanwhile).
  const idle = meter(platform);
  await sleep(RATE_SECONDS * 1000);
  const background = idle.stop();
  note(`background CPU (percent of a core, no calls): ${JSON.stringify(background.processes)}`);
  const measured = (args: readonly string[], load: GhzLoad) => {
    const during = meter(platform);
    const result = ghzWithServerCpu(ADDRESS, [pid], args, load);
    const cpu = during.stop();
    const perCall = (name: string) =>
      round(((Math.max(0, cpu.processes[name] - (background.processes[name] ?? 0)) / 100) * cpu.window_s * 1000) / result.count, 3);
    const byProcess = Object.fromEntries(
      Object.keys(cpu.processes)
        .map((name) => [name, perCall(name)] as const)
        .filter(([, ms]) => ms >= 0.01)
        .sort((a, b) => b[1] - a[1]),
    );
    return { ...result, cpu_ms_per_call_by_process: byProcess, machine_busy_pct_of_all_cores: cpu.machine_busy_pct_of_all_cores };
  };
  measured(recommend, { concurrency: 8, requests: 1000 }); // warm-up
  const offered = atOfferedRates(RATES, RATE_SECONDS, { recommend: recommend }, health, measured);
  const at500 = offered.find((o) => o.offered_rps === 500)?.['recommend'] as GhzResult | undefined;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'recs-loop',
      what: 'Recommend top-10 on ./pulse up: live state, model with fold-in, following, content, trending, engagement features, ranking',
      address: ADDRESS,
      model: registry.promoted,
      users: users.length,
      sample: checked,
      background_cpu_pct_of_core: background.processes,
      offered_rates: offered,
      goal: `p99 <= ${GOAL_P99_MS_AT_500} ms at 500 calls/s offered`,
      goal_met: at500 !== undefined && at500.ok === at500.count && at500.p99_ms <= GOAL_P99_MS_AT_500,
    })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
