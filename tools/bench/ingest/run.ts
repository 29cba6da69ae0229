// Ingest throughput bench: accepted events/s through the built ingest service (gRPC TrackEvents →
// validation → Redis dedup → Kafka acks=all), as a ratio to Kafka's Java ProducerPerformance
// (acks=all, idempotent) on the same broker in the same run. One JSON line on stdout.
// Entry point: tools/bench/ingest/run.sh (checks the stack, builds ingest when stale). See tools/bench/README.md.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { EventEmitter } from 'node:events';
import Redis from 'ioredis';
import {
  CpuMeter,
  type CpuReport,
  createBenchTopic,
  deleteTopics,
  endOffsets,
  envFlag,
  envInt,
  freePort,
  kafkaAdmin,
  KAFKA_BROKERS,
  median,
  NODE,
  note,
  percentile,
  REDIS_URL,
  REPO,
  round,
  RUN_ID,
  runDir,
  runProducerPerformance,
  type AnchorRun,
  sleep,
  spawnLogged,
  stackPids,
  stopChild,
  waitForReady,
} from '../lib/bench.ts';
import { summarizeProfile, type ProfileSummary } from '../lib/profile.ts';
import { type ClientConfig, type ClientMessage, type CoordinatorMessage, runClient, SEQ_DIGITS } from './client.ts';

const TRACKED_TOPIC = 'pulse.activity.tracked.v1';
const TRACKED_PARTITIONS = 12;

const opts = {
  /** Per round: events sent at most, and the cap on the measured window. */
  events: envInt('BENCH_EVENTS', 600_000),
  seconds: envInt('BENCH_SECONDS', 15),
  rounds: Math.max(1, envInt('BENCH_ROUNDS', 3)),
  warmupSeconds: envInt('BENCH_WARMUP_SECONDS', 3),
  batch: envInt('BENCH_BATCH', 1000),
  concurrency: envInt('BENCH_CONCURRENCY', 8),
  workers: envInt('BENCH_CLIENT_WORKERS', 1),
  omitAccepted: envFlag('BENCH_OMIT_ACCEPTED', true),
  halfRate: envFlag('BENCH_HALF_RATE', true),
  halfRateInflight: envInt('BENCH_HALF_RATE_INFLIGHT', 64),
  anchorRecords: envInt('BENCH_ANCHOR_RECORDS', 2_000_000),
  profile: envFlag('BENCH_PROFILE', false),
  trimTracked: envFlag('BENCH_TRIM_TRACKED', true),
  dist: process.env['BENCH_INGEST_DIST'] ?? join(REPO, 'dist/apps/ingest/main.js'),
  /** Extra flags for the service's node, e.g. `--max-semi-space-size=64` (experiments; default none). */
  serviceNodeArgs: process.env['BENCH_SERVICE_NODE_ARGS'] ?? '',
  /** SERVICE_PROCESSES of the service: workers of one instance on one port (the calls of a connection stay on one). */
  serviceProcesses: envInt('BENCH_SERVICE_PROCESSES', 1),
};

const dir = runDir('ingest');
const DEDUP_PREFIX = `pulse:bench:${RUN_ID}:dedup:`;
const admin = kafkaAdmin();
const anchorTopic = `pulse.bench.${RUN_ID}.anchor.v1`;
let service: ChildProcess | undefined;
const workers: Worker[] = [];
let topicCreated = false;

async function cleanup(): Promise<void> {
  for (const w of workers) await w.terminate().catch(() => undefined);
  if (service) await stopChild(service).catch(() => undefined);
  if (topicCreated) await deleteTopics(admin, [anchorTopic]);
  await admin.close().catch(() => undefined);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    note(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- the anchor

async function anchor(brokerPid: number): Promise<AnchorRun> {
  note(`anchor: ProducerPerformance ${opts.anchorRecords} x 100 B, acks=all, idempotent`);
  const run = await runProducerPerformance({ topic: anchorTopic, records: opts.anchorRecords, recordSize: 100, brokerPid });
  note(`anchor: ${run.summary}`);
  return run;
}

// ---------------------------------------------------------------- the service

interface ProbeStats {
  eventLoopUtilization: number;
  eventLoopActiveMs: number;
  windowMs: number;
  gc: { count: number; ms: number; byKind: Record<string, number> };
  profileFile?: string;
}

async function startService(): Promise<{ child: ChildProcess; grpcPort: number; httpPort: number; log: string }> {
  if (!existsSync(opts.dist)) throw new Error(`${opts.dist} is missing: build it (npx nx build ingest) or run tools/bench/ingest/run.sh`);
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const log = join(dir, 'ingest.log');
  const nodeArgs = opts.serviceNodeArgs ? opts.serviceNodeArgs.split(/\s+/).filter(Boolean) : [];
  const child = spawnLogged(NODE, [...nodeArgs, '--require', join(import.meta.dirname, 'service-probe.cjs'), opts.dist], {
    logFile: log,
    ipc: true,
    env: {
      ...process.env,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: String(grpcPort),
      HTTP_PORT: String(httpPort),
      KAFKA_BROKERS,
      REDIS_URL,
      LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'warn',
      // Isolated dedup keys, kept for the whole run (their memory is measured at its end, then they are deleted; they
      // expire on their own if the bench dies first).
      INGEST_DEDUP_KEY_PREFIX: DEDUP_PREFIX,
      INGEST_DEDUP_TTL: '30m',
      // The bench measures the service's own work: calls go without credentials (PULSE_AUTH=off, local only).
      PULSE_AUTH: 'off',
      SERVICE_PROCESSES: String(opts.serviceProcesses),
    },
  });
  service = child;
  await waitForReady(child, httpPort, { name: 'ingest', logFile: log });
  return { child, grpcPort, httpPort, log };
}

function probe(child: ChildProcess, message: object, answer: string): Promise<any> {
  return new Promise((resolveProbe, reject) => {
    const timer = setTimeout(() => reject(new Error(`service probe did not answer ${answer}`)), 60_000);
    const onMessage = (m: any) => {
      if (m?.probe === answer || m?.probe === 'error') {
        child.off('message', onMessage);
        clearTimeout(timer);
        if (m.probe === 'error') reject(new Error(`service probe: ${m.message}`));
        else resolveProbe(m);
      }
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

// ---------------------------------------------------------------- the load

interface ClientHandle {
  post(m: CoordinatorMessage): void;
}

interface Load {
  window_s: number;
  accepted_in_window: number;
  accepted_total: number;
  sent_total: number;
  not_accepted: number;
  failed_calls: Record<string, number>;
  /** Paced phase: calls due while BENCH_HALF_RATE_INFLIGHT were in flight, not sent. */
  skipped_calls: number;
  latency_ms: { p50: number; p90: number; p99: number; max: number };
  event_bytes: number;
  request_bytes: number;
  cpu: CpuReport;
  serviceStats: ProbeStats;
}

/**
 * One load phase. Closed loop (BENCH_CONCURRENCY calls always in flight) unless `eventsPerSecond` is given: then each
 * client sends its share of that rate on the clock (open loop), latency counted from when each call was due.
 */
async function drive(
  address: string,
  servicePid: number,
  pids: Record<string, number>,
  roundNo: number,
  profile: boolean,
  eventsPerSecond = 0,
): Promise<Load> {
  const occurredAtSeconds = Math.floor(Date.now() / 1000);
  const clients = Math.max(1, opts.workers);
  const callsPerSecond = eventsPerSecond / opts.batch / clients;
  const perClientBudget =
    eventsPerSecond > 0
      ? Math.ceil(callsPerSecond * (opts.warmupSeconds + opts.seconds + 2)) * opts.batch
      : Math.floor(opts.events / clients / opts.batch) * opts.batch;
  if (perClientBudget === 0) throw new Error('BENCH_EVENTS is smaller than one batch per client');
  if ((opts.rounds + 1) * clients > 99)
    throw new Error('BENCH_ROUNDS x BENCH_CLIENT_WORKERS must stay below 100 (two digits of every event_id)');

  const events = new EventEmitter();
  const handles: ClientHandle[] = [];
  for (let c = 0; c < clients; c++) {
    const inflight =
      eventsPerSecond > 0
        ? Math.max(1, Math.floor(opts.halfRateInflight / clients))
        : Math.floor(opts.concurrency / clients) + (c < opts.concurrency % clients ? 1 : 0);
    if (inflight === 0) throw new Error(`BENCH_CONCURRENCY=${opts.concurrency} is lower than the number of client workers (${clients})`);
    // Client numbers are unique across rounds, so every event_id of the run is.
    const config: ClientConfig = {
      address,
      batch: opts.batch,
      omitAccepted: opts.omitAccepted,
      callsPerSecond,
      inflight,
      budgetEvents: perClientBudget,
      runId: RUN_ID,
      client: roundNo * clients + c,
      occurredAtSeconds,
    };
    if (opts.workers === 0) {
      // In-process client (BENCH_CLIENT_WORKERS=0): same code on the coordinator's thread.
      const inbox = new EventEmitter();
      runClient(
        config,
        (m) => setImmediate(() => events.emit('message', m)),
        (h) => inbox.on('m', h),
      );
      handles.push({ post: (m) => inbox.emit('m', m) });
    } else {
      const worker = new Worker(join(import.meta.dirname, 'client-worker.ts'), { workerData: config });
      workers.push(worker);
      worker.on('message', (m: ClientMessage) => events.emit('message', m));
      worker.on('error', (e) => events.emit('message', { type: 'error', message: e.stack ?? String(e) } satisfies ClientMessage));
      handles.push({ post: (m) => worker.postMessage(m) });
    }
  }

  let ready = 0;
  let finished = 0;
  let eventBytes = 0;
  let requestBytes = 0;
  let windowStart = Infinity;
  let windowEnd = Infinity;
  let acceptedInWindow = 0;
  let acceptedTotal = 0;
  let sentTotal = 0;
  let notAccepted = 0;
  const failed: Record<string, number> = {};
  let skipped = 0;
  const latencies: number[] = [];
  let clientError: string | undefined;
  const { promise: readyP, resolve: allReady } = Promise.withResolvers<void>();
  const { promise: finishedP, resolve: allFinished } = Promise.withResolvers<void>();
  const { promise: windowP, resolve: endOfWindow } = Promise.withResolvers<void>();

  events.on('message', (m: ClientMessage) => {
    switch (m.type) {
      case 'ready':
        eventBytes = m.eventBytes;
        requestBytes = m.requestBytes;
        if (++ready === clients) allReady();
        break;
      case 'done':
        sentTotal += m.events;
        acceptedTotal += m.accepted;
        notAccepted += m.events - m.accepted;
        if (m.t >= windowStart && m.t <= windowEnd) {
          acceptedInWindow += m.accepted;
          latencies.push(m.latencyMs);
        }
        break;
      case 'skipped':
        if (m.t >= windowStart && m.t <= windowEnd) skipped++;
        break;
      case 'failed':
        sentTotal += m.events;
        failed[`${m.code} ${m.details}`.slice(0, 160)] = (failed[`${m.code} ${m.details}`.slice(0, 160)] ?? 0) + 1;
        break;
      case 'exhausted':
        // The first client out of events: from here on fewer calls are in flight, so the window ends.
        if (windowEnd === Infinity) {
          windowEnd = m.t;
          endOfWindow();
        }
        break;
      case 'finished':
        if (++finished === clients) allFinished();
        break;
      case 'error':
        clientError ??= m.message;
        endOfWindow();
        allFinished();
        break;
    }
  });

  await readyP;
  const meter = new CpuMeter().trackService('ingest', servicePid);
  meter.track('kafka_broker', pids['kafka']).track('redis', pids['redis']).track('bench_client', process.pid, true);
  if (pids['cassandra']) meter.track('cassandra_idle', pids['cassandra']);
  if (pids['postgres']) meter.track('postgres_idle', pids['postgres']);

  note(
    eventsPerSecond > 0
      ? `load: ${round(eventsPerSecond)} events/s offered on the clock, ${clients} client(s), ${opts.batch} events/call, cap ${opts.seconds} s`
      : `load: round ${roundNo + 1}, ${clients} client(s), ${opts.concurrency} calls in flight, ${opts.batch} events/call, budget ${perClientBudget * clients} events, cap ${opts.seconds} s`,
  );
  for (const h of handles) h.post({ type: 'go' });
  await sleep(opts.warmupSeconds * 1000);
  if (clientError) throw new Error(`client: ${clientError}`);
  await probe(service!, { probe: 'start', profile }, 'started');
  meter.start();
  windowStart = performance.timeOrigin + performance.now();
  const cap = setTimeout(() => {
    windowEnd = performance.timeOrigin + performance.now();
    endOfWindow();
  }, opts.seconds * 1000);
  await windowP;
  clearTimeout(cap);
  const cpu = meter.stop();
  const serviceStats = (await probe(
    service!,
    { probe: 'stop', profileFile: profile ? join(dir, 'ingest.cpuprofile') : undefined },
    'stats',
  )) as ProbeStats;
  for (const h of handles) h.post({ type: 'stop' });
  await Promise.race([finishedP, sleep(90_000)]);
  if (clientError) throw new Error(`client: ${clientError}`);
  if (finished < clients) throw new Error('clients did not finish within 90 s after the window');
  for (const w of workers.splice(0)) await w.terminate();

  const sorted = latencies.sort((a, b) => a - b);
  return {
    window_s: (windowEnd - windowStart) / 1000,
    accepted_in_window: acceptedInWindow,
    accepted_total: acceptedTotal,
    sent_total: sentTotal,
    not_accepted: notAccepted,
    failed_calls: failed,
    skipped_calls: skipped,
    latency_ms: {
      p50: round(percentile(sorted, 50), 1),
      p90: round(percentile(sorted, 90), 1),
      p99: round(percentile(sorted, 99), 1),
      max: round(sorted.at(-1) ?? NaN, 1),
    },
    event_bytes: eventBytes,
    request_bytes: requestBytes,
    cpu,
    serviceStats,
  };
}

// ---------------------------------------------------------------- analysis

function whereTimeGoes(load: Load, rate: number, anchorRun: AnchorRun, profile: ProfileSummary | undefined) {
  const p = { ...load.cpu.processes };
  // A clustered service: its CPU is its processes' together, its JS threads' the workers' (each one's on average).
  const workerNames = Object.keys(p).filter((n) => n.startsWith('ingest_worker_'));
  const serviceNames = ['ingest_service', ...workerNames];
  p['ingest_service'] = round(
    serviceNames.reduce((sum, n) => sum + (p[n] ?? 0), 0),
    1,
  );
  const serviceThreads: Record<string, number> = {};
  for (const n of workerNames.length > 0 ? workerNames : ['ingest_service'])
    for (const [thread, pct] of Object.entries(load.cpu.threads[n] ?? {}))
      serviceThreads[thread] = round((serviceThreads[thread] ?? 0) + pct / Math.max(1, workerNames.length), 1);
  const stats = load.serviceStats;
  const usPerEvent = (pct: number | undefined) => (pct === undefined || rate === 0 ? undefined : round(((pct / 100) * 1e6) / rate, 1));
  const anchorRate = anchorRun.records_per_s;
  const ap = anchorRun.cpu.processes;
  const mainPct = serviceThreads['main'] ?? NaN;
  const elu = stats.eventLoopUtilization;
  const gcPct = (100 * stats.gc.ms) / stats.windowMs;
  let verdict: string;
  const machine = load.cpu.machine_busy_pct_of_all_cores;
  const loop = `event loop ${round(100 * elu)}% busy, JS thread on CPU ${mainPct}% of a core, GC pauses ${round(gcPct)}% of wall`;
  if (elu >= 0.9 && mainPct >= 80) {
    verdict = `ingest's JS thread is saturated (${loop}): throughput is bounded by the service's CPU cost per event`;
  } else if (elu >= 0.9 && machine >= 90) {
    verdict = `ingest's event loop never idles (${loop}) and the machine is ${machine}% busy: the cores are oversubscribed (service + GC helpers + broker + redis + client + other work), the service's CPU cost per event bounds throughput`;
  } else if (elu >= 0.9) {
    verdict = `ingest's event loop never idles (${loop}) though the machine has idle CPU (${machine}% busy): the service's single JS thread is the bottleneck, part of its time spent off-CPU (waiting on GC helper threads, scheduling)`;
  } else {
    verdict = `neither the service's event loop (${round(100 * elu)}%) nor the machine (${machine}%) is saturated: calls wait on I/O (Kafka acks, Redis round trips); more concurrency may help`;
  }
  return {
    verdict,
    service: {
      cpu_pct_of_core: p['ingest_service'],
      threads_pct_of_core: serviceThreads,
      event_loop_utilization: round(elu, 3),
      gc_pause_pct_of_wall: round(gcPct, 1),
      gc_ms_by_kind: Object.fromEntries(Object.entries(stats.gc.byKind).map(([k, v]) => [k, round(v)])),
      cpu_us_per_event: usPerEvent(p['ingest_service']),
      // Less sensitive to outside load than events/s: the JS thread's CPU per event, and the rate it
      // would allow if that thread had a core to itself and never waited (an upper bound).
      js_thread_cpu_us_per_event: usPerEvent(mainPct * Math.max(1, workerNames.length)),
      js_thread_bound_events_per_s: Number.isFinite(mainPct) && mainPct > 0 ? round(rate / (mainPct / 100)) : undefined,
    },
    kafka_broker: {
      cpu_pct_of_core: p['kafka_broker'],
      cpu_us_per_event: usPerEvent(p['kafka_broker']),
      anchor_cpu_us_per_record: ap['kafka_broker'] === undefined ? undefined : round(((ap['kafka_broker'] / 100) * 1e6) / anchorRate, 1),
    },
    redis: { cpu_pct_of_core: p['redis'], cpu_us_per_event: usPerEvent(p['redis']) },
    bench_client: { cpu_pct_of_core: p['bench_client'], threads_pct_of_core: load.cpu.threads['bench_client'] },
    anchor_producer: {
      cpu_pct_of_core: ap['java_producer_performance'],
      cpu_us_per_record:
        ap['java_producer_performance'] === undefined ? undefined : round(((ap['java_producer_performance'] / 100) * 1e6) / anchorRate, 1),
    },
    call_latency_ms: load.latency_ms,
    ...(profile ? { profile } : {}),
  };
}

// ---------------------------------------------------------------- the dedup window's memory

/** Redis's used_memory, and how many keys it expired so far (an expiry between two readings disturbs their difference). */
async function memoryReading(redis: Redis): Promise<{ used: number; expired: number }> {
  const memory = await redis.info('memory');
  const stats = await redis.info('stats');
  return {
    used: Number(/^used_memory:(\d+)/m.exec(memory)![1]),
    expired: Number(/^expired_keys:(\d+)/m.exec(stats)![1]),
  };
}

/** used_memory after less before, or undefined when Redis expired keys in between (someone else's memory left too). */
function memoryDelta(before: { used: number; expired: number }, after: { used: number; expired: number }): number | undefined {
  return after.expired === before.expired ? after.used - before.used : undefined;
}

/**
 * Deletes the keys under `prefix`; returns how many there were, the members of the dedup window's sets, and the bytes
 * Redis says they take (MEMORY USAGE: each key's name, value and object; not the keyspace's own entries).
 */
async function dropKeys(redis: Redis, prefix: string): Promise<{ keys: number; windowMembers: number; memoryUsage: number }> {
  let keys = 0;
  let windowMembers = 0;
  let memoryUsage = 0;
  const stream = redis.scanStream({ match: `${prefix}*`, count: 1000 });
  for await (const batch of stream as AsyncIterable<string[]>) {
    if (batch.length === 0) continue;
    const usage = redis.pipeline();
    for (const k of batch) usage.memory('USAGE', k, 'SAMPLES', '0');
    for (const [, value] of (await usage.exec()) ?? []) memoryUsage += Number(value ?? 0);
    const sizes = await Promise.all(batch.filter((k) => k.startsWith(`${prefix}window `)).map((k) => redis.scard(k)));
    windowMembers += sizes.reduce((a, b) => a + b, 0);
    keys += batch.length;
    await redis.unlink(...batch);
  }
  return { keys, windowMembers, memoryUsage };
}

/**
 * What remembering an event id cost the way ingest kept them before the window's sets — a key per id holding `1`, with
 * the TTL — measured on the same Redis: `n` such keys written, the memory they took, deleted again.
 */
async function keyPerEvent(redis: Redis, n: number): Promise<{ usedMemoryBytes?: number; memoryUsageBytes: number }> {
  const prefix = `pulse:bench:${RUN_ID}:keys:`;
  const before = await memoryReading(redis);
  for (let i = 0; i < n; i += 10_000) {
    const pipeline = redis.pipeline();
    for (let j = i; j < Math.min(n, i + 10_000); j++)
      pipeline.set(`${prefix}${RUN_ID}-00-${String(j).padStart(SEQ_DIGITS, '0')}`, '1', 'PX', 1_800_000);
    await pipeline.exec();
  }
  const used = memoryDelta(before, await memoryReading(redis));
  const { memoryUsage } = await dropKeys(redis, prefix);
  return { usedMemoryBytes: used === undefined ? undefined : used / n, memoryUsageBytes: memoryUsage / n };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const pids = stackPids(['kafka', 'redis']);
  await createBenchTopic(admin, anchorTopic, 12);
  topicCreated = true;

  const redis = new Redis(REDIS_URL);
  const memoryBefore = await memoryReading(redis);
  note('starting ingest (built dist)');
  const svc = await startService();
  const offsetsBefore = await endOffsets(admin, TRACKED_TOPIC, TRACKED_PARTITIONS);

  // Rounds alternate anchor and ingest load on the same broker, so a burst of outside load hits
  // both kinds of measurement alike; the best of each is compared (capacity under the least noise).
  const anchorRuns: AnchorRun[] = [];
  const loads: Load[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    anchorRuns.push(await anchor(pids['kafka']));
    const last = r === opts.rounds - 1;
    const load = await drive(`127.0.0.1:${svc.grpcPort}`, svc.child.pid!, pids, r, opts.profile && last);
    note(
      `round ${r + 1}/${opts.rounds}: ingest ${round(load.accepted_in_window / load.window_s)} events/s over ${round(load.window_s, 1)} s`,
    );
    loads.push(load);
  }
  // Latency at half the best rate, offered on the clock (the goal's p99 is stated there).
  let halfRate: Load | undefined;
  let halfRateOffered = 0;
  if (opts.halfRate) {
    halfRateOffered = Math.max(...loads.map((l) => l.accepted_in_window / l.window_s)) / 2;
    halfRate = await drive(`127.0.0.1:${svc.grpcPort}`, svc.child.pid!, pids, opts.rounds, false, halfRateOffered);
    note(`half rate: ${round(halfRate.accepted_in_window / halfRate.window_s)} events/s accepted, p99 ${halfRate.latency_ms.p99} ms`);
  }
  await stopChild(svc.child);
  service = undefined;
  const dedupUsedMemory = memoryDelta(memoryBefore, await memoryReading(redis));
  const dedupKeys = await dropKeys(redis, DEDUP_PREFIX);
  const oldLayout = await keyPerEvent(redis, 200_000);
  redis.disconnect();

  const offsetsAfter = await endOffsets(admin, TRACKED_TOPIC, TRACKED_PARTITIONS);
  const written = offsetsAfter.reduce((sum, o, i) => sum + Number(o - offsetsBefore[i]), 0);
  if (opts.trimTracked && written > 0) {
    // The service can only write to the real topic: drop the bench's records from it, so a consumer
    // group that later starts from the earliest offset (storage's activity writer) does not copy them.
    await admin.deleteRecords({
      topics: [{ name: TRACKED_TOPIC, partitions: offsetsAfter.map((offset, partition) => ({ partition, offset })) }],
    });
    note(`trimmed ${TRACKED_TOPIC} up to the bench's last offsets (${written} records written during the run)`);
  }
  await deleteTopics(admin, [anchorTopic]);
  topicCreated = false;
  await admin.close();

  const phases = halfRate ? [...loads, halfRate] : loads;
  const acceptedTotal = phases.reduce((a, l) => a + l.accepted_total, 0);
  for (const load of phases) {
    const failedCalls = Object.values(load.failed_calls).reduce((a, b) => a + b, 0);
    if (failedCalls > 0) throw new Error(`${failedCalls} TrackEvents call(s) failed: ${JSON.stringify(load.failed_calls)}`);
    if (load.not_accepted > 0)
      throw new Error(
        `${load.not_accepted} events were not ACCEPTED (rejected or duplicate): the bench's events should all be valid and unique`,
      );
    if (load.accepted_in_window === 0) throw new Error('no event was accepted inside the measured window');
  }
  if (dedupKeys.windowMembers !== acceptedTotal)
    throw new Error(`the dedup window holds ${dedupKeys.windowMembers} ids for ${acceptedTotal} accepted events`);
  if (written < acceptedTotal) throw new Error(`only ${written} records reached ${TRACKED_TOPIC} for ${acceptedTotal} accepted events`);

  const rates = loads.map((l) => l.accepted_in_window / l.window_s);
  const bestIndex = rates.indexOf(Math.max(...rates));
  const load = loads[bestIndex];
  const rate = rates[bestIndex];
  const best = anchorRuns.reduce((a, b) => (b.records_per_s > a.records_per_s ? b : a));
  const profiled = loads.at(-1)!;
  let profile: ProfileSummary | undefined;
  if (profiled.serviceStats.profileFile) profile = summarizeProfile(profiled.serviceStats.profileFile);
  const anchorRates = anchorRuns.map((a) => a.records_per_s);
  const otherCpu = [...loads.map((l) => l.cpu.processes['other'] ?? 0), ...anchorRuns.map((a) => a.cpu.processes['other'] ?? 0)];

  const result = {
    bench: 'ingest',
    pulse_events_per_s: round(rate),
    anchor: 'kafka ProducerPerformance acks=all',
    anchor_records_per_s: round(best.records_per_s),
    ratio: round(rate / best.records_per_s, 3),
    goal_ratio: 0.5,
    batch: opts.batch,
    concurrency: opts.concurrency,
    client_workers: opts.workers,
    service_processes: opts.serviceProcesses,
    omit_accepted_results: opts.omitAccepted,
    ...(opts.serviceNodeArgs ? { service_node_args: opts.serviceNodeArgs } : {}),
    events: acceptedTotal,
    rounds: opts.rounds,
    window_s: round(load.window_s, 2),
    record_bytes: round(load.event_bytes, 1),
    request_bytes: load.request_bytes,
    runs_events_per_s: rates.map((r) => round(r)),
    anchor_runs_records_per_s: anchorRates.map((r) => round(r)),
    ratio_of_medians: round(median(rates) / median(anchorRates), 3),
    anchor_records: opts.anchorRecords,
    kafka_records_written: written,
    dedup: {
      events_remembered: dedupKeys.windowMembers,
      redis_keys: dedupKeys.keys,
      memory_usage_bytes: dedupKeys.memoryUsage,
      mb_per_million_events: round(dedupKeys.memoryUsage / acceptedTotal, 2),
      goal_mb_per_million_events: 16,
      key_per_event_mb_per_million_events: round(oldLayout.memoryUsageBytes, 2),
      // used_memory after the run less before it (allocator and keyspace included); null when Redis expired other
      // keys meanwhile, which freed memory of their own.
      used_memory_mb_per_million_events: dedupUsedMemory === undefined ? null : round(dedupUsedMemory / acceptedTotal, 2),
      key_per_event_used_memory_mb_per_million_events: oldLayout.usedMemoryBytes === undefined ? null : round(oldLayout.usedMemoryBytes, 2),
    },
    // CPU used by processes outside the bench while it measured (other sessions, builds): > 25% of a core means noisy numbers.
    noisy: Math.max(...otherCpu) > 25,
    max_other_cpu_pct_of_core: round(Math.max(...otherCpu), 1),
    profiled: opts.profile,
    cpu: { ingest_best_run: load.cpu, anchor_best_run: best.cpu },
    where_time_goes: whereTimeGoes(load, rate, best, profile),
    ...(halfRate
      ? {
          half_rate: {
            offered_events_per_s: round(halfRateOffered),
            accepted_events_per_s: round(halfRate.accepted_in_window / halfRate.window_s),
            window_s: round(halfRate.window_s, 2),
            max_calls_in_flight: opts.halfRateInflight,
            skipped_calls: halfRate.skipped_calls,
            call_latency_ms: halfRate.latency_ms,
          },
        }
      : {}),
    ...(opts.profile ? { profile_file: profiled.serviceStats.profileFile, profiled_run_events_per_s: round(rates.at(-1)!) } : {}),
    service_log: svc.log,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    process.stderr.write(`bench ingest failed: ${error instanceof Error ? error.message : String(error)}\n`);
    await cleanup();
    process.exit(1);
  },
);
