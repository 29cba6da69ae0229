// ghz (https://ghz.sh) as the benches drive it: a closed loop of N calls in flight, or calls offered at a fixed rate
// (--rps) for a duration, with latency percentiles from every call (p99.9 included, which ghz's own summary lacks).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { note, percentile, processCpuSeconds, REPO, round } from './bench.ts';

/** Set by run.sh (bench_ensure_ghz), which installs ghz with `go install` when it is missing. */
const GHZ = process.env['GHZ'] ?? 'ghz';

export interface GhzResult {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  count: number;
  ok: number;
  errors: Record<string, number>;
  /** Offered rate (calls/s) when the run was rate-limited, else absent. */
  offered_rps?: number;
}

export type GhzLoad = ({ concurrency: number; requests: number } | { rps: number; seconds: number; concurrency: number }) & {
  /** Connections the calls are spread over (ghz's default: 1); a clustered service (SERVICE_PROCESSES) serves each on one worker. */
  connections?: number;
};

/** The arguments naming one method of a proto under proto/. */
export function ghzCall(protoFile: string, method: string): string[] {
  return ['--import-paths', join(REPO, 'proto'), '--proto', join(REPO, 'proto', protoFile), '--call', method];
}

/**
 * Runs ghz against `address` with `args` (ghzCall plus data). Rate-limited runs keep `concurrency` workers so that
 * calls still start on time while others are slow; latency is measured from each call's start.
 */
export function ghz(address: string, args: readonly string[], load: GhzLoad): GhzResult {
  const shape =
    'rps' in load
      ? // -n rather than -z: ghz then waits for the last calls instead of cancelling those in flight at the end.
        ['--rps', String(load.rps), '-n', String(load.rps * load.seconds), '-c', String(load.concurrency)]
      : ['-n', String(load.requests), '-c', String(load.concurrency)];
  if (load.connections && load.connections > 1) shape.push('--connections', String(load.connections));
  const out = execFileSync(GHZ, ['--insecure', '--format', 'json', ...shape, ...args, address], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const r = JSON.parse(out) as {
    rps: number;
    count: number;
    statusCodeDistribution?: Record<string, number>;
    errorDistribution?: Record<string, number>;
    details?: { latency: number; status: string }[];
  };
  const latencies = (r.details ?? []).map((d) => d.latency / 1e6).sort((a, b) => a - b);
  return {
    rps: round(r.rps),
    p50_ms: round(percentile(latencies, 50), 3),
    p99_ms: round(percentile(latencies, 99), 3),
    p999_ms: round(percentile(latencies, 99.9), 3),
    max_ms: round(latencies.at(-1) ?? NaN, 3),
    count: r.count,
    ok: r.statusCodeDistribution?.['OK'] ?? 0,
    errors: r.errorDistribution ?? {},
    ...('rps' in load ? { offered_rps: load.rps } : {}),
  };
}

/**
 * Calls offered at each rate for `seconds` (64 workers): the subject (`{ name: ghz args }`), then the same server's
 * Health/Check at the same rate — the latency tail of grpc-js, Nest's transport and this machine beside the
 * subject's. `measure` runs one load. One line per rate on stderr; the result holds the subject under its name.
 */
export function atOfferedRates<R extends GhzResult>(
  rates: readonly number[],
  seconds: number,
  subject: Record<string, readonly string[]>,
  healthArgs: readonly string[],
  measure: (args: readonly string[], load: GhzLoad) => R,
): ({ offered_rps: number; health_check: R } & Record<string, R | number>)[] {
  const [name, args] = Object.entries(subject)[0];
  return rates.map((rate) => {
    const load: GhzLoad = { rps: rate, seconds, concurrency: 64 };
    const measured = measure(args, load);
    const healthCheck = measure(healthArgs, load);
    note(
      `${rate}/s offered: ${name} ${measured.rps} rps, p50 ${measured.p50_ms} ms, p99 ${measured.p99_ms} ms (health check p99 ${healthCheck.p99_ms} ms)`,
    );
    return { offered_rps: rate, [name]: measured, health_check: healthCheck };
  });
}

export type GhzServerResult = GhzResult & { service_cpu_ms_per_call: number };

/** `ghz` beside the CPU the server spent on the calls (steadier than latency on shared cores): all its processes' (a clustered one's workers too). */
export function ghzWithServerCpu(address: string, pids: readonly number[], args: readonly string[], load: GhzLoad): GhzServerResult {
  const cpu = () => pids.reduce((sum, pid) => sum + (processCpuSeconds(pid) ?? NaN), 0);
  const before = cpu();
  const result = ghz(address, args, load);
  const spent = cpu() - before;
  return { ...result, service_cpu_ms_per_call: round((spent * 1000) / result.count, 3) };
}
