// Analytics bench: each job of the analytics service on local Spark (a Spark Connect server of its own,
// local[2]) beside the same computation in DuckDB on this machine (tools/bench/analytics/anchor.ts), over a
// generated lake of BENCH_EDGES follow edges and BENCH_EVENTS activity rows (generate.ts), with the time and
// the peak resident memory of each side. Prints one JSON line. Run by Node 24 with type stripping (see
// tools/bench/README.md); the generator and the anchor need @pulse/lake and run under ts-node.
import grpc from '@grpc/grpc-js';
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import {
  collect,
  envFlag,
  envInt,
  freePort,
  NODE,
  note,
  REPO,
  round,
  RUN_ID,
  runDir,
  sleep,
  spawnLogged,
  STACK,
  stopChild,
  tail,
  waitForReady,
} from '../lib/bench.ts';
import { loadProto } from '../lib/proto.ts';

const ITERATIONS = envInt('BENCH_GRAPH_ITERATIONS', 10);
const SPARK_MEMORY = process.env['BENCH_SPARK_MEMORY'] ?? '6g';
const SPARK_PARTITIONS = envInt('BENCH_SPARK_PARTITIONS', 16);
/** A work directory to keep and resume in (the generated lake, each finished job's result); a fresh one if unset. */
const BENCH_DIR = process.env['BENCH_DIR'];
const KEEP = envFlag('BENCH_KEEP', false) || BENCH_DIR !== undefined;
const JOBS = (process.env['BENCH_JOBS'] ?? '').split(',').filter(Boolean);
const PG_URL = process.env['PG_URL'] ?? 'postgres://pulse:pulse@127.0.0.1:25432/pulse';
const MAIN_STACK = process.env['STACK_DIR'] ?? join(REPO, '.stack');
const TS_NODE = join(REPO, 'node_modules/.bin/ts-node');

/** Jobs in build order, with the parameters the bench gives them (fixed rounds for the iterative ones). */
const PLAN: { job: string; parameters?: Record<string, string> }[] = [
  { job: 'silver_activity' },
  { job: 'silver_sessions' },
  { job: 'silver_users' },
  { job: 'silver_posts' },
  { job: 'silver_follows' },
  { job: 'silver_blocks' },
  { job: 'active_users' },
  { job: 'retention_cohorts' },
  { job: 'topic_engagement' },
  { job: 'creator_stats' },
  { job: 'engagement_funnel' },
  { job: 'follow_counts' },
  { job: 'pagerank', parameters: { max_iterations: String(ITERATIONS), tolerance: '0' } },
  { job: 'communities', parameters: { max_iterations: String(ITERATIONS) } },
  { job: 'pymk' },
];
const ANCHORED = new Set([
  'silver_activity',
  'silver_sessions',
  'silver_follows',
  'active_users',
  'retention_cohorts',
  'engagement_funnel',
  'follow_counts',
  'pagerank',
  'communities',
  'pymk',
]);

function tsNode(script: string, args: string[], env: NodeJS.ProcessEnv) {
  return spawn(TS_NODE, ['--transpile-only', '-r', 'tsconfig-paths/register', join(REPO, 'tools/bench/analytics', script), ...args], {
    cwd: REPO,
    env: { ...process.env, TS_NODE_PROJECT: join(REPO, 'tsconfig.base.json'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function runTs(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<any> {
  const result = await collect(tsNode(script, args, env));
  if (result.code !== 0) throw new Error(`${script} ${args.join(' ')} failed:\n${result.stderr.slice(-3000)}`);
  process.stderr.write(result.stderr);
  return JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}');
}

/** Peak resident memory of a process since the last reset (VmHWM), in MiB; `reset` clears it (clear_refs 5). */
function peakRss(pid: number, reset = false): number {
  if (reset) writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return line ? Math.round(Number(line[1]) / 1024) : NaN;
}

function currentRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return line ? Math.round(Number(line[1]) / 1024) : NaN;
}

/** A stand-in FeaturesService that takes pymk's pushes (counted, not stored). */
async function featureSink(): Promise<{ address: string; rows: () => number; stop: () => Promise<void> }> {
  const definition = loadProto('pulse/features/v1/features_service.proto');
  const service = (grpc.loadPackageDefinition(definition) as any).pulse.features.v1.FeaturesService.service;
  const server = new grpc.Server();
  let rows = 0;
  server.addService(service, {
    Push: (call: any, callback: any) => {
      rows += call.request.rows.length;
      callback(null, { onlineRows: call.request.rows.length, offlineRows: 0 });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, rows: () => rows, stop: () => new Promise((r) => server.tryShutdown(() => r())) };
}

async function main(): Promise<void> {
  const work = BENCH_DIR ?? runDir('analytics');
  mkdirSync(work, { recursive: true });
  const lake = join(work, 'lake');
  const anchorOut = join(work, 'duckdb');
  mkdirSync(anchorOut, { recursive: true });
  const schema = `analytics_bench_${RUN_ID}`;
  const sparkEnv = {
    STACK_DIR: join(work, 'stack'),
    SPARK_JARS: join(MAIN_STACK, 'jars/spark'),
    SPARK_DRIVER_MEMORY: SPARK_MEMORY,
    SPARK_SHUFFLE_PARTITIONS: String(SPARK_PARTITIONS),
    SPARK_CONNECT_PORT: String(await freePort()),
  };
  let service: ReturnType<typeof spawnLogged> | undefined;
  let sink: Awaited<ReturnType<typeof featureSink>> | undefined;
  try {
    // A resumed run (BENCH_DIR) reuses its lake and the results of the jobs it finished; a job cut off
    // mid-run is run again (each job's output is one Delta commit, so nothing partial is left to read).
    const generatedFile = join(work, 'generated.json');
    const resultsFile = join(work, 'results.jsonl');
    let generated: { rows: Record<string, number>; seconds: number };
    if (existsSync(generatedFile)) {
      generated = JSON.parse(readFileSync(generatedFile, 'utf8'));
      note(`reusing the lake in ${lake} (${JSON.stringify(generated.rows)})`);
    } else {
      note(`generating the lake in ${lake}`);
      rmSync(lake, { recursive: true, force: true });
      generated = await runTs('generate.ts', [lake]);
      writeFileSync(generatedFile, JSON.stringify(generated));
    }
    const finished = new Map<string, Record<string, unknown>>(
      (existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8').split('\n').filter(Boolean) : [])
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .map((result) => [String(result['job']), result]),
    );

    note(`starting a Spark Connect server of its own (local[2], heap ${SPARK_MEMORY}) from ${sparkEnv.SPARK_JARS}`);
    if (!existsSync(sparkEnv.SPARK_JARS)) throw new Error(`no Spark jars in ${sparkEnv.SPARK_JARS}: run tools/stack/stack up spark once`);
    execFileSync(STACK, ['up', 'spark'], { env: { ...process.env, ...sparkEnv }, stdio: ['ignore', 'inherit', 'inherit'] });
    const sparkPid = Number(readFileSync(join(sparkEnv.STACK_DIR, 'spark/spark.pid'), 'utf8').trim());
    const sparkIdleMb = currentRss(sparkPid);

    sink = await featureSink();
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const logFile = join(work, 'analytics.log');
    service = spawnLogged(NODE, [join(REPO, 'dist/apps/analytics/main.js')], {
      logFile,
      env: {
        ...process.env,
        GRPC_PORT: String(grpcPort),
        HTTP_PORT: String(httpPort),
        LOG_LEVEL: 'warn',
        PG_URL,
        ANALYTICS_PG_SCHEMA: schema,
        ANALYTICS_AUTO_MIGRATE: 'true',
        ANALYTICS_SCHEDULES_ENABLED: 'false',
        LAKE_ROOT: lake,
        SPARK_REMOTE: `sc://127.0.0.1:${sparkEnv.SPARK_CONNECT_PORT}`,
        FEATURES_GRPC_ADDR: sink.address,
        // The bench measures the jobs: calls go without credentials (PULSE_AUTH=off, local only).
        PULSE_AUTH: 'off',
      },
    });
    await waitForReady(service, httpPort, { name: 'analytics', logFile });
    const Client = (grpc.loadPackageDefinition(loadProto('pulse/analytics/v1/analytics_service.proto')) as any).pulse.analytics.v1
      .AnalyticsService;
    const client = new Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    const call = (method: string, request: unknown): Promise<any> =>
      new Promise((resolve, reject) => client[method](request, (e: Error | null, r: any) => (e ? reject(e) : resolve(r))));

    const results: Record<string, unknown>[] = [];
    for (const { job, parameters } of PLAN) {
      const earlier = finished.get(job);
      if (JOBS.length > 0 && !JOBS.includes(job)) {
        if (earlier) results.push(earlier);
        continue;
      }
      if (earlier && JOBS.length === 0) {
        note(`${job}: finished in an earlier run of ${work}`);
        results.push(earlier);
        continue;
      }
      note(`${job}: Spark`);
      peakRss(sparkPid, true);
      const { run } = await call('RunJob', { job, parameters: parameters ?? {} });
      let done = run;
      while (done.state === 1 || done.state === 2) {
        await sleep(1000);
        done = (await call('GetJobRun', { runId: run.runId })).run;
      }
      if (done.state !== 3)
        throw new Error(`${job} failed on Spark: ${JSON.stringify(done.failure)}\n${tail(join(sparkEnv.STACK_DIR, 'spark/spark.log'))}`);
      const sparkSeconds =
        Number(done.finishedAt.seconds) - Number(done.startedAt.seconds) + (done.finishedAt.nanos - done.startedAt.nanos) / 1e9;
      const result: Record<string, unknown> = {
        job,
        spark_s: round(sparkSeconds, 1),
        spark_peak_rss_mb: peakRss(sparkPid),
        spark_rows: Number(done.outputRows),
        spark_operations: done.progress?.operationsDone,
      };
      if (job === 'pymk') result['pushed_rows'] = Number(done.exportedRows);
      if (ANCHORED.has(job)) {
        note(`${job}: DuckDB (Spark: ${JSON.stringify(result)})`);
        const anchor = await runTs('anchor.ts', [job, lake, anchorOut], { BENCH_GRAPH_ITERATIONS: String(ITERATIONS) });
        Object.assign(result, {
          duckdb_s: anchor.seconds,
          duckdb_peak_rss_mb: anchor.peak_rss_mb,
          duckdb_rows: anchor.rows,
          spark_vs_duckdb_time: round(sparkSeconds / Math.max(anchor.seconds, 0.1), 2),
        });
      }
      note(JSON.stringify(result));
      results.push(result);
      appendFileSync(
        resultsFile,
        `${JSON.stringify({ ...result, load_1m: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]) })}\n`,
      );
    }
    client.close();
    const anchored = results.filter((r) => r['duckdb_s'] !== undefined);
    const sum = (key: string, rows = anchored) =>
      round(
        rows.reduce((s, r) => s + Number(r[key]), 0),
        1,
      );
    process.stdout.write(
      `${JSON.stringify({
        bench: 'analytics',
        machine: {
          cores: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
          load_1m: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
        },
        data: { ...generated.rows, generate_s: generated.seconds },
        spark: {
          version: '4.0.1',
          delta: '4.0.1',
          master: 'local[2]',
          driver_heap: SPARK_MEMORY,
          shuffle_partitions: SPARK_PARTITIONS,
          idle_rss_mb: sparkIdleMb,
        },
        duckdb: { threads: Number(process.env['BENCH_DUCKDB_THREADS'] ?? '2'), memory_limit: process.env['BENCH_DUCKDB_MEMORY'] ?? '8GB' },
        graph_iterations: ITERATIONS,
        jobs: results,
        anchored_total: {
          spark_s: sum('spark_s'),
          duckdb_s: sum('duckdb_s'),
          ratio: round(sum('spark_s') / Math.max(sum('duckdb_s'), 0.1), 2),
        },
        all_jobs_spark_s: sum('spark_s', results),
        pushed_rows: sink.rows(),
      })}\n`,
    );
  } finally {
    if (service) await stopChild(service);
    await sink?.stop();
    try {
      execFileSync(STACK, ['down', 'spark'], { env: { ...process.env, ...sparkEnv }, stdio: ['ignore', 'inherit', 'inherit'] });
    } catch (error) {
      note(`could not stop the bench's Spark: ${(error as Error).message}`);
    }
    const client = new pg.Client({ connectionString: PG_URL });
    await client
      .connect()
      .then(() => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`))
      .finally(() => client.end().catch(() => undefined));
    if (KEEP) note(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
