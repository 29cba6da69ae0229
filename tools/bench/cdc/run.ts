// CDC bench: Pulse's cdc service (PostgreSQL pgoutput → Kafka, Debezium JSON) against Debezium's embedded
// engine with its PostgreSQL connector feeding a plain Kafka producer (tools/bench/cdc/debezium), on the same
// PostgreSQL and broker in the same run, one after the other, each on a fresh schema, slot, publication and
// topics, under the same workload:
//   steady:  BENCH_WRITERS connections commit single-row INSERT/UPDATE transactions at BENCH_RATE tx/s in total
//            for BENCH_SECONDS (after BENCH_WARMUP_SECONDS of the same load, not counted);
//   backlog: the capturer is stopped, BENCH_BACKLOG rows are inserted (1000-row transactions), the capturer is
//            started again and drains them.
// Kafka topics use LogAppendTime, so a record's timestamp is when the broker appended it; latency is that time
// minus the commit time in `source.ts_us`. One JSON line on stdout. Entry point: tools/bench/cdc/run.sh.
import {
  CpuMeter,
  type CpuReport,
  deleteTopics,
  envInt,
  kafkaAdmin,
  note,
  percentile,
  round,
  runDir,
  sleep,
  stackPids,
} from '../lib/bench.ts';
import {
  type Capture,
  createCaptureTopics,
  debeziumCapture,
  dropCapture,
  pgClient,
  pulseCapture,
  readAll,
  type Running,
  sql,
  startCapturer,
  stopCapturer,
  waitForRecords,
} from './lib.ts';

const opts = {
  rate: envInt('BENCH_RATE', 1000),
  writers: Math.max(1, envInt('BENCH_WRITERS', 4)),
  seconds: Math.max(1, envInt('BENCH_SECONDS', 30)),
  warmupSeconds: envInt('BENCH_WARMUP_SECONDS', 5),
  insertPct: envInt('BENCH_INSERT_PCT', 70),
  backlog: envInt('BENCH_BACKLOG', 200_000),
  backlogTxRows: Math.max(1, envInt('BENCH_BACKLOG_TX_ROWS', 1000)),
};

const TABLES = ['items', 'backlog'];

function ddl(schema: string): string {
  return `
    CREATE SCHEMA "${schema}";
    CREATE TABLE "${schema}".items (id bigint PRIMARY KEY, writer int NOT NULL, n int NOT NULL, payload text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE "${schema}".backlog (id bigint PRIMARY KEY, n int NOT NULL, payload text NOT NULL);`;
}

interface Load {
  committed: number;
  inserts: number;
  updates: number;
  /** Wall-clock ms of the measured window (commits inside it count). */
  windowStartMs: number;
  windowEndMs: number;
  late_ms_p99: number;
}

/** `writers` connections, each pacing its own share of `rate`; single-row autocommit transactions. */
async function steadyLoad(schema: string, meter: () => CpuMeter): Promise<{ load: Load; cpu: CpuReport }> {
  const clients = await Promise.all(
    Array.from({ length: opts.writers }, async () => {
      const c = pgClient();
      await c.connect();
      return c;
    }),
  );
  const intervalMs = (1000 * opts.writers) / opts.rate;
  const totalMs = (opts.warmupSeconds + opts.seconds) * 1000;
  const t0 = performance.now() + 50;
  const wall0 = Date.now() + 50;
  const windowStartMs = wall0 + opts.warmupSeconds * 1000;
  const windowEndMs = wall0 + totalMs;
  let committed = 0;
  let inserts = 0;
  let updates = 0;
  const lates: number[] = [];
  let m: CpuMeter | undefined;
  const meterTimer = setTimeout(() => (m = meter().start()), opts.warmupSeconds * 1000 + 50);
  const payload = 'p'.repeat(64);
  await Promise.all(
    clients.map(async (c, w) => {
      const ids: number[] = [];
      let seq = 0;
      for (let i = 0; ; i++) {
        const due = t0 + i * intervalMs + (w * intervalMs) / opts.writers;
        if (due - t0 >= totalMs) break;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        else lates.push(-wait);
        if (ids.length === 0 || Math.random() * 100 < opts.insertPct) {
          const id = seq++ * opts.writers + w;
          await c.query(`INSERT INTO "${schema}".items (id, writer, n, payload) VALUES ($1, $2, 0, $3)`, [id, w, payload]);
          ids.push(id);
          inserts++;
        } else {
          const id = ids[Math.floor(Math.random() * ids.length)];
          await c.query(`UPDATE "${schema}".items SET n = n + 1, updated_at = now() WHERE id = $1`, [id]);
          updates++;
        }
        committed++;
      }
    }),
  );
  clearTimeout(meterTimer);
  const cpu = (m ?? meter().start()).stop();
  await Promise.all(clients.map((c) => c.end()));
  lates.sort((a, b) => a - b);
  return { load: { committed, inserts, updates, windowStartMs, windowEndMs, late_ms_p99: round(percentile(lates, 99) || 0, 1) }, cpu };
}

interface SideResult {
  changes_per_s: number;
  commit_to_kafka_ms: { p50: number; p99: number; max: number; samples: number };
  backlog_changes_per_s: number;
  backlog_drain_s_from_start: number;
  write_tx_per_s: number;
  changes_on_kafka: number;
  changes_written: number;
  capturer_cpu_pct_of_core: number;
  capturer_cpu_us_per_change: number;
  broker_cpu_pct_of_core: number;
  noisy_other_cpu_pct_of_core: number;
}

async function runSide(
  cap: Capture,
  dir: string,
  admin: ReturnType<typeof kafkaAdmin>,
  brokerPid: number | undefined,
): Promise<SideResult> {
  await sql(ddl(cap.schema));
  await createCaptureTopics(admin, cap, TABLES);
  const itemsTopic = [cap.topicOf('items')];
  const backlogTopic = [cap.topicOf('backlog')];

  let run: Running = await startCapturer(cap, dir, 1);
  note(`${cap.side}: ready; steady load ${opts.rate} tx/s over ${opts.writers} connections, ${opts.warmupSeconds}+${opts.seconds} s`);
  let load: Load;
  let cpu: CpuReport;
  try {
    const r = await steadyLoad(cap.schema, () => new CpuMeter().track('capturer', run.child.pid).track('kafka_broker', brokerPid));
    load = r.load;
    cpu = r.cpu;
    const got = await waitForRecords(admin, itemsTopic, load.committed, 120_000);
    if (got < load.committed) throw new Error(`${cap.side}: ${got} of ${load.committed} steady changes reached Kafka within 120 s`);
  } finally {
    await stopCapturer(run);
  }

  note(`${cap.side}: capturer stopped; writing a backlog of ${opts.backlog} rows`);
  const c = pgClient();
  await c.connect();
  try {
    for (let from = 0; from < opts.backlog; from += opts.backlogTxRows) {
      const to = Math.min(opts.backlog, from + opts.backlogTxRows) - 1;
      await c.query(
        `INSERT INTO "${cap.schema}".backlog SELECT g, g % 1000, repeat('b', 64) FROM generate_series($1::bigint, $2::bigint) g`,
        [from, to],
      );
    }
  } finally {
    await c.end();
  }
  const restartMs = Date.now();
  run = await startCapturer(cap, dir, 2);
  try {
    const got = await waitForRecords(admin, backlogTopic, opts.backlog, 300_000);
    if (got < opts.backlog) throw new Error(`${cap.side}: ${got} of ${opts.backlog} backlog changes reached Kafka within 300 s`);
  } finally {
    await stopCapturer(run);
  }

  note(`${cap.side}: reading the topics back`);
  const steady = await readAll(admin, itemsTopic);
  const lat: number[] = [];
  let lastWindowAppend = 0;
  for (const r of steady) {
    if (r.valueRaw === null) continue;
    const v = JSON.parse(r.valueRaw);
    const commitMs = Number(v.source.ts_us) / 1000;
    if (commitMs >= load.windowStartMs && commitMs < load.windowEndMs) {
      lat.push(r.appendMs - commitMs);
      lastWindowAppend = Math.max(lastWindowAppend, r.appendMs);
    }
  }
  lat.sort((a, b) => a - b);
  const backlog = await readAll(admin, backlogTopic);
  let first = Infinity;
  let last = -Infinity;
  for (const r of backlog) {
    first = Math.min(first, r.appendMs);
    last = Math.max(last, r.appendMs);
  }
  const windowS = (load.windowEndMs - load.windowStartMs) / 1000;
  const capCpu = cpu.processes['capturer'] ?? 0;
  // Changes committed in the window, over the time from the window's start until the last of them was on
  // Kafka (at least the window): the write rate when the capturer keeps up, less when it falls behind.
  const changesPerS = lat.length / Math.max(windowS, (lastWindowAppend - load.windowStartMs) / 1000);
  return {
    changes_per_s: round(changesPerS, 1),
    commit_to_kafka_ms: {
      p50: round(percentile(lat, 50), 1),
      p99: round(percentile(lat, 99), 1),
      max: round(lat.at(-1) ?? NaN, 1),
      samples: lat.length,
    },
    backlog_changes_per_s: round((backlog.length - 1) / Math.max(0.001, (last - first) / 1000)),
    backlog_drain_s_from_start: round((last - restartMs) / 1000, 2),
    write_tx_per_s: round(lat.length / windowS, 1),
    changes_on_kafka: steady.length + backlog.length,
    changes_written: load.committed + opts.backlog,
    capturer_cpu_pct_of_core: capCpu,
    capturer_cpu_us_per_change: round(((capCpu / 100) * 1e6) / Math.max(1, changesPerS), 1),
    broker_cpu_pct_of_core: cpu.processes['kafka_broker'] ?? 0,
    noisy_other_cpu_pct_of_core: cpu.processes['other'] ?? 0,
  };
}

async function main(): Promise<void> {
  const pids = stackPids(['kafka', 'postgres']);
  const dir = runDir('cdc');
  const admin = kafkaAdmin();
  const pulse = pulseCapture('bench', dir);
  const dbz = debeziumCapture('bench', dir);
  try {
    note(`pulse on schema ${pulse.schema}`);
    const p = await runSide(pulse, dir, admin, pids['kafka']);
    await dropCapture(pulse);
    note(`debezium on schema ${dbz.schema}`);
    const d = await runSide(dbz, dir, admin, pids['kafka']);
    const result = {
      bench: 'cdc',
      write_rate_tx_per_s: opts.rate,
      writers: opts.writers,
      window_s: opts.seconds,
      insert_pct: opts.insertPct,
      backlog_changes: opts.backlog,
      backlog_tx_rows: opts.backlogTxRows,
      latency: 'Kafka LogAppendTime of the record minus source.ts_us (commit time), steady window only',
      changes_per_s_def: 'changes committed in the window / (last of them appended - window start), at least the window',
      pulse: p,
      anchor: 'Debezium 3.x embedded engine (postgres connector) + Kafka producer',
      debezium_version: '3.6.1.Final',
      debezium_poll_interval_ms: Number(process.env['DBZ_POLL_INTERVAL_MS'] || 500),
      debezium: d,
      ratio_changes_per_s: round(p.changes_per_s / d.changes_per_s, 3),
      ratio_backlog: round(p.backlog_changes_per_s / d.backlog_changes_per_s, 3),
      goal: 'pulse changes/s >= 1x debezium, pulse p99 <= 100 ms',
      goal_met: p.changes_per_s >= d.changes_per_s && p.commit_to_kafka_ms.p99 <= 100,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await dropCapture(pulse);
    await dropCapture(dbz);
    await deleteTopics(admin, [...pulse.topics, ...dbz.topics]);
    await admin.close();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench: error: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
