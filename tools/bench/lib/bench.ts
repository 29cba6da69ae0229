// Helpers shared by the benchmarks under tools/bench/: processes, CPU accounting from /proc,
// the Java ProducerPerformance anchor, bench topics and the one-line JSON result.
// Run by Node 24 with type stripping: erasable TypeScript only, npm packages only.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Admin } from '@platformatic/kafka';

export const REPO = resolve(import.meta.dirname, '../../..');
export const STACK = join(REPO, 'tools/stack/stack');
export const NODE = process.execPath;
export const CORES = cpus().length;
const CLK_TCK = 100; // USER_HZ; Linux reports /proc times in 1/100 s on every common architecture

export const KAFKA_BROKERS = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:29092';
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:26379';

// ---------------------------------------------------------------- options, output

export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}=${raw} is not a non-negative number`);
  return Math.floor(value);
}

export function envFlag(name: string, fallback: boolean): boolean {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  return !['0', 'false', 'no', 'off'].includes(raw.toLowerCase());
}

/** Progress and diagnostics go to stderr; stdout carries only the JSON result line. */
export function note(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

export function round(value: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** A short id unique to this run: bench topics, dedup key prefixes and temp dirs carry it. */
export const RUN_ID = `r${randomBytes(4).toString('hex')}`;

export function runDir(bench: string): string {
  return mkdtempSync(join(tmpdir(), `pulse-bench-${bench}-`));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

// ---------------------------------------------------------------- CPU accounting

/** The child processes of a process (a clustered service's workers, SERVICE_PROCESSES). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** utime + stime of a process (all its threads) in seconds, or undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // exited: its threads are gone, keep the last live sample
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // fields 14 and 15 of stat(5)
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in MB (VmRSS of /proc/<pid>/status), or undefined once it is gone. */
export function residentMb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds per thread name (comm) of a process: main thread vs GC helpers vs libuv pool. */
export function threadCpuSeconds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = tid === String(pid) ? 'main' : comm.replace(/[0-9]+$/, '').trim() || comm;
      out[name] = (out[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    } catch {
      // thread ended between readdir and read
    }
  }
  return out;
}

/** utime+stime and comm of every process, by pid. */
function allProcesses(): Map<number, { comm: string; seconds: number }> {
  const out = new Map<number, { comm: string; seconds: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(entry), { comm, seconds: (Number(f[11]) + Number(f[12])) / CLK_TCK });
    } catch {
      // gone
    }
  }
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 120);
  } catch {
    return '';
  }
}

/** Busy and total CPU seconds of the whole machine (all cores) from /proc/stat. */
function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

/**
 * Samples the CPU time of named processes every 200 ms, so a process that exits inside the window
 * (the Java tool) still has its last reading. `stop()` returns percent of ONE core per process over
 * the window, plus the whole machine (percent of all cores) and what no named process used ("other").
 */
export class CpuMeter {
  private readonly first = new Map<string, number>();
  private readonly last = new Map<string, number>();
  private readonly pids = new Map<string, number>();
  private readonly threadsFirst = new Map<string, Record<string, number>>();
  private readonly threadsLast = new Map<string, Record<string, number>>();
  private readonly threadDetail = new Set<string>();
  private readonly residentPeak = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  private machine0 = { busy: 0, total: 0 };
  private procs0 = new Map<number, { comm: string; seconds: number }>();

  track(name: string, pid: number | undefined, threads = false): this {
    if (pid !== undefined) {
      this.pids.set(name, pid);
      if (threads) this.threadDetail.add(name);
    }
    return this;
  }

  /**
   * A service started with SERVICE_PROCESSES: the process as `<name>_service` (with one worker, the service itself; in a
   * cluster, the primary that only hands connections over) and each of its workers as `<name>_worker_<n>`, with threads.
   */
  trackService(name: string, pid: number | undefined): this {
    this.track(`${name}_service`, pid, true);
    if (pid !== undefined) for (const [i, worker] of childPids(pid).entries()) this.track(`${name}_worker_${i + 1}`, worker, true);
    return this;
  }

  start(): this {
    this.t0 = performance.now();
    this.machine0 = machineCpuSeconds();
    this.procs0 = allProcesses();
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), 200);
    this.timer.unref();
    return this;
  }

  private sample(initial: boolean): void {
    for (const [name, pid] of this.pids) {
      const s = processCpuSeconds(pid);
      if (s === undefined) continue;
      const rss = residentMb(pid);
      if (rss !== undefined && rss > (this.residentPeak.get(name) ?? 0)) this.residentPeak.set(name, rss);
      if (!this.first.has(name)) this.first.set(name, s);
      this.last.set(name, s);
      if (this.threadDetail.has(name)) {
        const t = threadCpuSeconds(pid);
        if (initial || !this.threadsFirst.has(name)) this.threadsFirst.set(name, t);
        this.threadsLast.set(name, t);
      }
    }
  }

  stop(): CpuReport {
    this.sample(false);
    clearInterval(this.timer);
    const seconds = (performance.now() - this.t0) / 1000;
    const machine1 = machineCpuSeconds();
    const pct = (cpuSeconds: number) => round((100 * cpuSeconds) / seconds, 1);
    const processes: Record<string, number> = {};
    let named = 0;
    for (const name of this.pids.keys()) {
      const used = (this.last.get(name) ?? 0) - (this.first.get(name) ?? 0);
      named += used;
      processes[name] = pct(used);
    }
    const threads: Record<string, Record<string, number>> = {};
    for (const name of this.threadDetail) {
      const a = this.threadsFirst.get(name) ?? {};
      const b = this.threadsLast.get(name) ?? {};
      const detail: Record<string, number> = {};
      for (const [thread, s] of Object.entries(b)) {
        const used = s - (a[thread] ?? 0);
        if (used > 0.005 * seconds) detail[thread] = pct(used);
      }
      threads[name] = detail;
    }
    const busy = machine1.busy - this.machine0.busy;
    // Who else used the cores (other sessions' builds and tests): processes alive at the end (a
    // process started inside the window counts whole); ones that came and went are not seen.
    const tracked = new Set([...this.pids.values()]);
    const others: { pid: number; comm: string; cmd: string; pct: number }[] = [];
    for (const [pid, p1] of allProcesses()) {
      if (tracked.has(pid) || pid === process.pid) continue;
      const used = p1.seconds - (this.procs0.get(pid)?.seconds ?? 0);
      if (used > 0.05 * seconds) others.push({ pid, comm: p1.comm, cmd: cmdline(pid), pct: pct(used) });
    }
    others.sort((a, b) => b.pct - a.pct);
    return {
      unit: 'percent of one core over the measured window',
      window_s: round(seconds, 2),
      cores: CORES,
      machine_busy_pct_of_all_cores: round((100 * busy) / (seconds * CORES), 1),
      processes: { ...processes, other: pct(Math.max(0, busy - named)) },
      threads,
      resident_mb_peak: Object.fromEntries([...this.residentPeak].map(([name, mb]) => [name, round(mb)])),
      other_top: others.slice(0, 4),
    };
  }
}

export interface CpuReport {
  unit: string;
  window_s: number;
  cores: number;
  machine_busy_pct_of_all_cores: number;
  processes: Record<string, number>;
  threads: Record<string, Record<string, number>>;
  /** Peak resident memory (VmRSS, sampled every 200 ms) of each tracked process over the window, MB. */
  resident_mb_peak: Record<string, number>;
  /** The biggest CPU users outside the bench (percent of one core), when any used > 5%. */
  other_top: { pid: number; comm: string; cmd: string; pct: number }[];
}

// ---------------------------------------------------------------- the local stack

/** Pids of the stack's servers from `tools/stack/stack status`; throws when one we need is down. */
export function stackPids(required: readonly string[]): Record<string, number> {
  let out: string;
  try {
    out = execFileSync(STACK, ['status'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new Error(`tools/stack/stack status failed: ${(error as Error).message}`);
  }
  const pids: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const m = /^(\S+)\s+running\s+pid=(\d+)/.exec(line);
    if (m) pids[m[1]] = Number(m[2]);
  }
  const down = required.filter((n) => pids[n] === undefined);
  if (down.length > 0)
    throw new Error(`stack server(s) not running: ${down.join(', ')} (start them: tools/stack/stack up ${down.join(' ')})`);
  return pids;
}

export function kafkaAdmin(): Admin {
  return new Admin({
    clientId: `pulse-bench-admin-${RUN_ID}`,
    bootstrapBrokers: KAFKA_BROKERS.split(','),
    timeout: 30_000,
    retries: 3,
  });
}

/** Creates a fresh topic for this run (names carry RUN_ID, so they never collide with a topic being deleted). */
export async function createBenchTopic(admin: Admin, name: string, partitions: number): Promise<void> {
  await admin.createTopics({ topics: [name], partitions, replicas: -1 });
  // Wait until every partition has a leader, so the first produce does not race the controller.
  for (let i = 0; i < 50; i++) {
    try {
      const offsets = await admin.listOffsets({
        topics: [{ name, partitions: Array.from({ length: partitions }, (_, p) => ({ partitionIndex: p, timestamp: -1n })) }],
      });
      if (offsets[0]?.partitions.length === partitions) return;
    } catch {
      // not ready yet
    }
    await sleep(100);
  }
  throw new Error(`topic ${name} did not become ready`);
}

export async function deleteTopics(admin: Admin, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  try {
    await admin.deleteTopics({ topics: [...names] });
  } catch (error) {
    note(`could not delete bench topic(s) ${names.join(', ')}: ${(error as Error).message}`);
  }
}

/** Latest offset of every partition of a topic. */
export async function endOffsets(admin: Admin, topic: string, partitions: number): Promise<bigint[]> {
  const listed = await admin.listOffsets({
    topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, p) => ({ partitionIndex: p, timestamp: -1n })) }],
  });
  const out = new Array<bigint>(partitions).fill(0n);
  for (const p of listed[0]?.partitions ?? []) out[p.partitionIndex] = p.offset;
  return out;
}

// ---------------------------------------------------------------- the Java anchor

export interface AnchorRun {
  records_per_s: number;
  summary: string;
  cpu: CpuReport;
}

/**
 * Kafka's own org.apache.kafka.tools.ProducerPerformance on `topic`: its defaults, plus acks=all and
 * enable.idempotence=true (the platform's producer settings). Records/s from its final summary line.
 */
export async function runProducerPerformance(options: {
  topic: string;
  records: number;
  recordSize: number;
  brokerPid?: number;
  extraProps?: readonly string[];
}): Promise<AnchorRun> {
  const args = [
    'kafka-tool',
    'org.apache.kafka.tools.ProducerPerformance',
    '--topic',
    options.topic,
    '--num-records',
    String(options.records),
    '--record-size',
    String(options.recordSize),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${KAFKA_BROKERS}`,
    'acks=all',
    'enable.idempotence=true',
    ...(options.extraProps ?? []),
  ];
  // `stack kafka-tool` execs java, so the child's pid is the JVM's.
  const child = spawn(STACK, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const meter = new CpuMeter().track('java_producer_performance', child.pid, true).track('kafka_broker', options.brokerPid).start();
  const { code, stdout, stderr } = await collect(child);
  const cpu = meter.stop();
  const lines = stdout.split('\n').filter((l) => / records sent, [\d.]+ records\/sec/.test(l));
  const summary = lines.at(-1);
  if (code !== 0 || !summary) {
    throw new Error(`ProducerPerformance failed (exit ${code}):\n${(stderr || stdout).split('\n').slice(-15).join('\n')}`);
  }
  const m = /^(\d+) records sent, ([\d.]+) records\/sec/.exec(summary)!;
  if (Number(m[1]) !== options.records) throw new Error(`ProducerPerformance sent ${m[1]} of ${options.records} records: ${summary}`);
  return { records_per_s: Number(m[2]), summary: summary.trim(), cpu };
}

export function collect(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

/** Spawns a long-running process with its output in `logFile`. */
export function spawnLogged(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; logFile: string; ipc?: boolean; cwd?: string },
): ChildProcess {
  const child = spawn(command, [...args], {
    cwd: options.cwd ?? REPO,
    env: options.env,
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(options.logFile);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  return child;
}

export function tail(file: string, lines = 20): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Waits until a service we started answers 200 on /health/ready; throws with the tail of its log when
 * it exits first or is not ready within `timeoutMs` (and then stops it).
 */
export async function waitForReady(
  child: ChildProcess,
  httpPort: number,
  options: { name: string; logFile: string; timeoutMs?: number },
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${options.name} exited during start (code ${child.exitCode}, signal ${child.signalCode}):\n${tail(options.logFile)}`,
      );
    }
    if (
      await fetch(`http://127.0.0.1:${httpPort}/health/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`${options.name} not ready after ${Math.round((options.timeoutMs ?? 60_000) / 1000)} s:\n${tail(options.logFile)}`);
    }
    await sleep(200);
  }
}

/** Stops a child we started: SIGTERM, then SIGKILL after `graceMs`. Resolves once it is gone. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}
