// Kafka producer bench: 100-byte records, acks=all, idempotent, on the local broker. Kafka's Java
// ProducerPerformance is the anchor; kafkajs and @platformatic/kafka are measured against it in the
// same run, each in its own Node process. One JSON line on stdout. See tools/bench/README.md.
//
//   node tools/bench/kafka-clients/run.ts                      the whole comparison
//   node tools/bench/kafka-clients/run.ts --producer <name> --topic <t>   one JS producer (used by the above)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type AnchorRun,
  collect,
  CpuMeter,
  type CpuReport,
  createBenchTopic,
  deleteTopics,
  envInt,
  kafkaAdmin,
  KAFKA_BROKERS,
  median,
  NODE,
  note,
  percentile,
  round,
  RUN_ID,
  runProducerPerformance,
  stackPids,
} from '../lib/bench.ts';

const RECORD_BYTES = 100;
const PARTITIONS = 12;
const JS_PRODUCERS = ['kafkajs', '@platformatic/kafka'] as const;
type JsProducer = (typeof JS_PRODUCERS)[number];

const opts = {
  records: envInt('BENCH_RECORDS', 1_500_000),
  warmupRecords: envInt('BENCH_WARMUP_RECORDS', 100_000),
  seconds: envInt('BENCH_SECONDS', 12),
  batch: envInt('BENCH_BATCH', 2000),
  inflight: envInt('BENCH_INFLIGHT', 4),
  anchorRecords: envInt('BENCH_ANCHOR_RECORDS', 2_000_000),
  rounds: Math.max(1, envInt('BENCH_ROUNDS', 3)),
};

// ---------------------------------------------------------------- one JS producer (child mode)

interface ProducerResult {
  producer: string;
  version: string;
  records: number;
  records_per_s: number;
  window_s: number;
  send_latency_ms: { p50: number; p99: number };
  cpu: CpuReport;
}

/** The installed version of an npm package (its package.json above the resolved entry point). */
function packageVersion(name: string): string {
  let dir = dirname(createRequire(import.meta.url).resolve(name));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version ?? 'unknown';
    }
    if (dirname(dir) === dir) return 'unknown';
    dir = dirname(dir);
  }
}

/** A send of `messages` records of `payload` to `topic`; resolves on the broker's acks=all answer. */
type Send = (count: number) => Promise<void>;

async function kafkajsSender(topic: string, payload: Buffer): Promise<{ send: Send; close: () => Promise<void>; version: string }> {
  const { Kafka, logLevel, Partitioners } = (await import('kafkajs')).default;
  const kafka = new Kafka({ clientId: `pulse-bench-${RUN_ID}`, brokers: KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return {
    version: packageVersion('kafkajs'),
    send: async (count) => {
      const messages = new Array(count);
      for (let i = 0; i < count; i++) messages[i] = { value: payload };
      await producer.sendBatch({ topicMessages: [{ topic, messages }], acks: -1 });
    },
    close: () => producer.disconnect(),
  };
}

async function platformaticSender(topic: string, payload: Buffer): Promise<{ send: Send; close: () => Promise<void>; version: string }> {
  const { Producer, ProduceAcks } = await import('@platformatic/kafka');
  const producer = new Producer({
    clientId: `pulse-bench-${RUN_ID}`,
    bootstrapBrokers: KAFKA_BROKERS.split(','),
    idempotent: true,
    acks: ProduceAcks.ALL,
    autocreateTopics: false,
  });
  return {
    version: packageVersion('@platformatic/kafka'),
    send: async (count) => {
      const messages = new Array(count);
      for (let i = 0; i < count; i++) messages[i] = { topic, value: payload };
      await producer.send({ messages });
    },
    close: () => producer.close(),
  };
}

/** Keeps `inflight` sends of `batch` records going until `records` are acknowledged. */
async function pump(send: Send, records: number, capMs: number): Promise<{ records: number; ms: number; latencies: number[] }> {
  const started = performance.now();
  let issued = 0;
  let acked = 0;
  const latencies: number[] = [];
  await new Promise<void>((resolvePump, reject) => {
    let inFlight = 0;
    let failed = false;
    const next = () => {
      while (!failed && inFlight < opts.inflight && issued < records && performance.now() - started < capMs) {
        const count = Math.min(opts.batch, records - issued);
        issued += count;
        inFlight++;
        const t0 = performance.now();
        send(count).then(
          () => {
            inFlight--;
            acked += count;
            latencies.push(performance.now() - t0);
            next();
          },
          (error: unknown) => {
            failed = true;
            reject(error);
          },
        );
      }
      if (inFlight === 0 && !failed) resolvePump();
    };
    next();
  });
  return { records: acked, ms: performance.now() - started, latencies };
}

async function runOneProducer(name: JsProducer, topic: string): Promise<void> {
  const payload = randomBytes(RECORD_BYTES);
  // Printable like ProducerPerformance's random payload (uppercase letters).
  for (let i = 0; i < payload.length; i++) payload[i] = 65 + (payload[i] % 26);
  const sender = name === 'kafkajs' ? await kafkajsSender(topic, payload) : await platformaticSender(topic, payload);
  // Warm-up: connections, metadata, producer id, JIT; not measured.
  if (opts.warmupRecords > 0) await pump(sender.send, opts.warmupRecords, opts.seconds * 1000);
  const brokerPid = Number(process.env['BENCH_BROKER_PID'] ?? '') || undefined;
  const meter = new CpuMeter().track('js_producer', process.pid, true).track('kafka_broker', brokerPid).start();
  const run = await pump(sender.send, opts.records, opts.seconds * 1000);
  const cpu = meter.stop();
  await sender.close();
  const sorted = run.latencies.sort((a, b) => a - b);
  const result: ProducerResult = {
    producer: name,
    version: sender.version,
    records: run.records,
    records_per_s: round(run.records / (run.ms / 1000)),
    window_s: round(run.ms / 1000, 2),
    send_latency_ms: { p50: round(percentile(sorted, 50), 1), p99: round(percentile(sorted, 99), 1) },
    cpu,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------- the comparison

async function spawnProducer(name: JsProducer, topic: string, brokerPid: number): Promise<ProducerResult> {
  note(`${name}: ${opts.records} x ${RECORD_BYTES} B, sends of ${opts.batch}, ${opts.inflight} in flight, acks=all, idempotent`);
  const child = spawn(NODE, [...process.execArgv, import.meta.filename, '--producer', name, '--topic', topic], {
    env: { ...process.env, BENCH_BROKER_PID: String(brokerPid) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { code, stdout, stderr } = await collect(child);
  const line = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !line.startsWith('{'))
    throw new Error(`${name} producer failed (exit ${code}):\n${stderr.trim().split('\n').slice(-15).join('\n')}`);
  const result = JSON.parse(line) as ProducerResult;
  note(`${name}: ${result.records_per_s} records/s`);
  return result;
}

async function compare(): Promise<void> {
  const pids = stackPids(['kafka']);
  const admin = kafkaAdmin();
  const topics: string[] = [];
  const fresh = async (label: string) => {
    const name = `pulse.bench.${RUN_ID}.${label}.v1`;
    await createBenchTopic(admin, name, PARTITIONS);
    topics.push(name);
    return name;
  };
  const cleanup = () => deleteTopics(admin, topics).finally(() => admin.close());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  try {
    // Rounds of [Java, kafkajs, @platformatic/kafka] on fresh topics: a burst of outside load hits
    // every producer alike over the rounds; the best run of each is compared.
    const anchors: AnchorRun[] = [];
    const runs = new Map<string, ProducerResult[]>();
    for (let r = 0; r < opts.rounds; r++) {
      note(`round ${r + 1}/${opts.rounds}`);
      note(`anchor: ProducerPerformance ${opts.anchorRecords} x ${RECORD_BYTES} B, acks=all, idempotent`);
      const run = await runProducerPerformance({
        topic: await fresh(`java${r}`),
        records: opts.anchorRecords,
        recordSize: RECORD_BYTES,
        brokerPid: pids['kafka'],
      });
      note(`anchor: ${run.summary}`);
      anchors.push(run);
      for (const name of JS_PRODUCERS) {
        const result = await spawnProducer(name, await fresh(`${name.replace(/[^a-z]/g, '')}${r}`), pids['kafka']);
        runs.set(name, [...(runs.get(name) ?? []), result]);
      }
    }
    const results = JS_PRODUCERS.map((name) => runs.get(name)!.reduce((a, b) => (b.records_per_s > a.records_per_s ? b : a)));
    const best = anchors.reduce((a, b) => (b.records_per_s > a.records_per_s ? b : a));
    const anchorRate = best.records_per_s;
    const usPerRecord = (pct: number | undefined, rate: number) => (pct === undefined ? undefined : round(((pct / 100) * 1e6) / rate, 2));
    const producers: Record<string, object> = {};
    for (const r of results) {
      const all = runs.get(r.producer)!.map((x) => x.records_per_s);
      producers[r.producer] = {
        version: r.version,
        records_per_s: r.records_per_s,
        ratio: round(r.records_per_s / anchorRate, 3),
        runs_records_per_s: all,
        ratio_of_medians: round(median(all) / median(anchors.map((a) => a.records_per_s)), 3),
        records: r.records,
        window_s: r.window_s,
        send_latency_ms: r.send_latency_ms,
        producer_cpu_pct_of_core: r.cpu.processes['js_producer'],
        producer_threads_pct_of_core: r.cpu.threads['js_producer'],
        producer_cpu_us_per_record: usPerRecord(r.cpu.processes['js_producer'], r.records_per_s),
        broker_cpu_pct_of_core: r.cpu.processes['kafka_broker'],
        machine_busy_pct_of_all_cores: r.cpu.machine_busy_pct_of_all_cores,
        other_cpu_pct_of_core: r.cpu.processes['other'],
      };
    }
    const maxOther = Math.max(
      ...anchors.map((a) => a.cpu.processes['other'] ?? 0),
      ...[...runs.values()].flat().map((x) => x.cpu.processes['other'] ?? 0),
    );
    const chosen = results.reduce((a, b) => (b.records_per_s > a.records_per_s ? b : a));
    const javaCpu = best.cpu.processes['java_producer_performance'];
    const out = {
      bench: 'kafka-clients',
      anchor: 'kafka ProducerPerformance acks=all',
      anchor_records_per_s: round(anchorRate),
      anchor_runs_records_per_s: anchors.map((a) => round(a.records_per_s)),
      anchor_median_records_per_s: round(median(anchors.map((a) => a.records_per_s))),
      anchor_records: opts.anchorRecords,
      anchor_cpu: {
        producer_cpu_pct_of_core: javaCpu,
        producer_threads_pct_of_core: best.cpu.threads['java_producer_performance'],
        producer_cpu_us_per_record: usPerRecord(javaCpu, anchorRate),
        broker_cpu_pct_of_core: best.cpu.processes['kafka_broker'],
        machine_busy_pct_of_all_cores: best.cpu.machine_busy_pct_of_all_cores,
        other_cpu_pct_of_core: best.cpu.processes['other'],
        note: 'whole JVM run incl. start-up and JIT compiler threads',
      },
      record_bytes: RECORD_BYTES,
      acks: 'all',
      idempotent: true,
      partitions: PARTITIONS,
      records: opts.records,
      batch: opts.batch,
      inflight: opts.inflight,
      producers,
      rounds: opts.rounds,
      // CPU used by processes outside the bench while it measured: > 25% of a core means noisy numbers.
      noisy: maxOther > 25,
      max_other_cpu_pct_of_core: round(maxOther, 1),
      chosen: chosen.producer,
      chosen_ratio: round(chosen.records_per_s / anchorRate, 3),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await cleanup();
  }
}

// ---------------------------------------------------------------- entry

const { values } = parseArgs({ options: { producer: { type: 'string' }, topic: { type: 'string' } } });
const main = values.producer
  ? async () => {
      if (!(JS_PRODUCERS as readonly string[]).includes(values.producer!))
        throw new Error(`unknown producer ${values.producer} (known: ${JS_PRODUCERS.join(', ')})`);
      if (!values.topic) throw new Error('--topic is required with --producer');
      return runOneProducer(values.producer as JsProducer, values.topic);
    }
  : compare;

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench kafka-clients failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
