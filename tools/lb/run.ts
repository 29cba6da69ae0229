// gRPC load balancing demo: three ingest replicas behind (a) nginx as an L7 gRPC proxy and (b) grpc-js
// client-side round_robin with a retry policy. For each path it checks that unary calls spread evenly
// over the replicas (per-replica counts from each replica's own /metrics), then kills one replica with
// SIGKILL under load and checks that no call fails after retries and that the survivors keep serving.
// Prints one JSON line on stdout; progress goes to stderr. Entry point: tools/lb/run.sh (see README.md).
import grpc from '@grpc/grpc-js';
import { loadProto } from '../bench/lib/proto.ts';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '../..');
const SERVICE = 'pulse.ingest.v1.IngestService';
const METRIC_METHOD = 'TrackEventsGrpcController.validateEvents';
const HOST = '127.0.0.1';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

const opts = {
  replicas: envInt('LB_REPLICAS', 3),
  /** Calls per spread check and per failover run. */
  requests: envInt('LB_REQUESTS', 6000),
  /** Calls the client keeps in flight. */
  concurrency: envInt('LB_CONCURRENCY', 32),
  /** Events per ValidateEvents call. */
  batch: envInt('LB_BATCH', 5),
  /** Allowed deviation of any replica's share from an even split, in percent. */
  maxDeviationPct: envInt('LB_MAX_DEVIATION_PCT', 10),
  /** Index (1-based) of the replica killed in the failover runs. */
  kill: envInt('LB_KILL_REPLICA', 2),
  /** The replica is killed once this fraction (percent) of the failover calls has completed. */
  killAtPct: envInt('LB_KILL_AT_PCT', 33),
  nginx: process.env['LB_NGINX'] ?? 'nginx',
  dist: process.env['LB_INGEST_DIST'] ?? join(REPO, 'dist/apps/ingest/main.js'),
};
if (opts.kill > opts.replicas) throw new Error(`LB_KILL_REPLICA=${opts.kill} but only ${opts.replicas} replicas`);

const RUN_ID = `lb${process.pid.toString(36)}${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'pulse-lb-'));
const note = (message: string) => process.stderr.write(`lb: ${message}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Stops a child we started: `signal`, then SIGKILL after `graceMs`. Resolves once it is gone. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (exited(child)) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

// ---------------------------------------------------------------- replicas

interface Replica {
  name: string;
  grpcPort: number;
  httpPort: number;
  log: string;
  child?: ChildProcess;
}

const replicas: Replica[] = [];

function startReplica(r: Replica): void {
  const log = createWriteStream(r.log, { flags: 'a' });
  const child = spawn(process.execPath, [opts.dist], {
    cwd: REPO,
    env: {
      ...process.env,
      SERVICE_NAME: 'ingest',
      GRPC_HOST: HOST,
      GRPC_PORT: String(r.grpcPort),
      HTTP_PORT: String(r.httpPort),
      LOG_LEVEL: 'warn',
      INGEST_DEDUP_KEY_PREFIX: `pulse:lb:${RUN_ID}:`,
      // The demo is about balancing: calls go without credentials (PULSE_AUTH=off, local only).
      PULSE_AUTH: 'off',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  r.child = child;
}

async function waitReady(r: Replica, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!r.child || exited(r.child)) throw new Error(`${r.name} exited while starting:\n${tail(r.log)}`);
    try {
      const res = await fetch(`http://${HOST}:${r.httpPort}/health/ready`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${r.name} not ready after ${timeoutMs} ms:\n${tail(r.log)}`);
    await sleep(200);
  }
}

/** grpc_server_handled_total{method="TrackEventsGrpcController.validateEvents",code="OK"} of one replica. */
async function handledOk(r: Replica): Promise<number> {
  const res = await fetch(`http://${HOST}:${r.httpPort}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${r.name} /metrics: HTTP ${res.status}`);
  for (const line of (await res.text()).split('\n')) {
    if (!line.startsWith('grpc_server_handled_total{')) continue;
    const labels = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    if (labels.includes(`method="${METRIC_METHOD}"`) && labels.includes('code="OK"')) {
      return Number(line.slice(line.lastIndexOf('}') + 1).trim());
    }
  }
  return 0; // no call handled yet
}

const snapshot = (rs: readonly Replica[]) => Promise.all(rs.map(handledOk));

// ---------------------------------------------------------------- nginx

let nginx: ChildProcess | undefined;
const nginxDir = join(dir, 'nginx');
const accessLog = join(nginxDir, 'access.log');
const errorLog = join(nginxDir, 'error.log');

function nginxConfig(listenPort: number): string {
  const servers = replicas.map((r) => `    server ${HOST}:${r.grpcPort} max_fails=1 fail_timeout=10s;`).join('\n');
  return `# Generated by tools/lb/run.ts.
# One process (no master/worker split) so that the demo owns exactly one pid; round robin is per worker anyway.
master_process off;
daemon off;
worker_processes 1;
pid ${nginxDir}/nginx.pid;
error_log ${errorLog} warn;
events { worker_connections 1024; }

http {
  client_body_temp_path ${nginxDir}/client_body;
  proxy_temp_path ${nginxDir}/proxy;
  fastcgi_temp_path ${nginxDir}/fastcgi;
  uwsgi_temp_path ${nginxDir}/uwsgi;
  scgi_temp_path ${nginxDir}/scgi;

  # upstream_addr lists every replica tried for a call ("a, b" when nginx retried it on another one).
  log_format lb '$connection "$upstream_addr" "$upstream_status" $status $request_time $request_uri';
  access_log ${accessLog} lb;

  upstream ingest_grpc {
    # Round robin (the default) per call; a replica that fails once is skipped for fail_timeout.
${servers}
    # HTTP/2 connections to the replicas are kept and reused.
    keepalive 32;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }

  server {
    listen ${HOST}:${listenPort} http2;
    # Client connections: let one HTTP/2 connection carry any number of calls (default 1000, then GOAWAY).
    keepalive_requests 1000000;
    keepalive_timeout 300s;

    grpc_connect_timeout 1s;
    grpc_read_timeout 30s;
    grpc_send_timeout 30s;

    # Failover inside nginx: a replica that refuses the connection or times out before the call has gone out
    # is skipped and the call goes to the next one. Once a call has been sent, nginx cannot resend it (grpc_pass
    # streams the request body without buffering it, so non_idempotent would change nothing): a call cut off
    # by a dying replica is answered as UNAVAILABLE below, and the client retries it if its method is
    # idempotent (the retry policy of ValidateEvents); TrackEvents is never replayed behind the client's back.
    location / {
      grpc_pass grpc://ingest_grpc;
      grpc_next_upstream error timeout;
      grpc_next_upstream_tries 3;
      grpc_next_upstream_timeout 5s;
    }

    # When the replica of a call dies mid-call (or no replica is left), nginx answers with an HTTP 502/504
    # error page: to a gRPC client that is response headers plus a body, so the call counts as started and no
    # retry policy applies. Answer with a gRPC "trailers-only" UNAVAILABLE instead, which a client may retry
    # (gRFC A6). (204 drops Content-Type, hence add_header.)
    error_page 502 504 = @grpc_unavailable;
    location @grpc_unavailable {
      add_header content-type application/grpc always;
      add_header grpc-status 14 always;
      add_header grpc-message "replica failed (nginx $status)" always;
      return 204;
    }
  }
}
`;
}

async function startNginx(listenPort: number): Promise<void> {
  spawnSync('mkdir', ['-p', nginxDir]);
  const conf = join(nginxDir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(listenPort));
  const test = spawnSync(opts.nginx, ['-t', '-q', '-p', nginxDir, '-e', errorLog, '-c', conf], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t failed:\n${test.stderr}${tail(errorLog)}`);
  const log = createWriteStream(join(nginxDir, 'stdio.log'));
  nginx = spawn(opts.nginx, ['-p', nginxDir, '-e', errorLog, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  nginx.stdout?.pipe(log);
  nginx.stderr?.pipe(log);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited(nginx)) throw new Error(`nginx exited:\n${tail(errorLog)}`);
    const connected = await new Promise<boolean>((r) => {
      const s = createServer();
      s.once('error', () => r(true)); // port taken: nginx listens
      s.listen(listenPort, HOST, () => s.close(() => r(false)));
    });
    if (connected) return;
    if (Date.now() > deadline) throw new Error(`nginx not listening on ${listenPort}:\n${tail(errorLog)}`);
    await sleep(100);
  }
}

function accessLogLines(): string[] {
  return existsSync(accessLog)
    ? readFileSync(accessLog, 'utf8')
        .split('\n')
        .filter((l) => l.includes('/ValidateEvents'))
    : [];
}

// ---------------------------------------------------------------- client

const definition = loadProto('pulse/ingest/v1/ingest_service.proto');
const IngestClient = grpc.makeGenericClientConstructor(
  definition[SERVICE] as unknown as grpc.ServiceDefinition,
  'IngestService',
) as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => grpc.Client & {
  validateEvents(
    request: object,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: { results: { status: number }[] }) => void,
  ): grpc.ClientUnaryCall;
};
type IngestClientT = InstanceType<typeof IngestClient>;

const retryPolicy = {
  maxAttempts: 4,
  initialBackoff: '0.05s',
  maxBackoff: '0.5s',
  backoffMultiplier: 2,
  retryableStatusCodes: ['UNAVAILABLE'],
};
const methodConfig = [{ name: [{ service: SERVICE, method: 'ValidateEvents' }], retryPolicy }];

/** Same retry policy on both paths; round_robin only where the client sees every replica. */
function makeClient(target: string, roundRobin: boolean): IngestClientT {
  const serviceConfig = roundRobin ? { loadBalancingConfig: [{ round_robin: {} }], methodConfig } : { methodConfig };
  return new IngestClient(target, grpc.credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify(serviceConfig),
    'grpc.enable_retries': 1,
    // no service config from the resolver (there is none for ipv4: targets; explicit for clarity)
    'grpc.service_config_disable_resolution': 1,
  });
}

const EVENT_STATUS_ACCEPTED = 1;

function request(i: number) {
  const seconds = Math.floor(Date.now() / 1000);
  return {
    clientId: 'lb-demo',
    events: Array.from({ length: opts.batch }, (_, j) => ({
      eventId: `${RUN_ID}-${i}-${j}`,
      userId: `u${String((i * 7919 + j) % 1_000_000).padStart(7, '0')}`,
      type: 1, // view
      target: { type: 1, id: `p${String((i * 31 + j) % 10_000_000).padStart(8, '0')}` },
      occurredAt: { seconds, nanos: 0 },
      properties: { surface: 'feed', position: String(j) },
    })),
  };
}

interface LoadResult {
  ok: number;
  failed: number;
  /** Status codes of the failed calls. */
  failedCodes: Record<string, number>;
  /** First failure, for the error message. */
  firstError?: string;
  /** Calls whose every event was not ACCEPTED (would mean the replicas disagree or the request is bad). */
  notAccepted: number;
  seconds: number;
}

/** `total` ValidateEvents calls, `concurrency` in flight; `onProgress(completed)` after each call. */
function runLoad(client: IngestClientT, total: number, onProgress?: (completed: number) => void): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failed: 0, failedCodes: {}, notAccepted: 0, seconds: 0 };
  const started = performance.now();
  let next = 0;
  let completed = 0;
  return new Promise((resolveLoad) => {
    const launch = () => {
      if (next >= total) return;
      const i = next++;
      client.validateEvents(request(i), { deadline: Date.now() + 20_000 }, (error, response) => {
        completed++;
        if (error) {
          result.failed++;
          const code = grpc.status[error.code] ?? String(error.code);
          result.failedCodes[code] = (result.failedCodes[code] ?? 0) + 1;
          result.firstError ??= `${code}: ${error.details}`;
        } else {
          result.ok++;
          if (!response?.results.every((r) => r.status === EVENT_STATUS_ACCEPTED)) result.notAccepted++;
        }
        onProgress?.(completed);
        if (completed === total) {
          result.seconds = (performance.now() - started) / 1000;
          resolveLoad(result);
        } else launch();
      });
    };
    for (let k = 0; k < Math.min(opts.concurrency, total); k++) launch();
  });
}

// ---------------------------------------------------------------- scenarios

const failures: string[] = [];

function deviationPct(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const even = total / counts.length;
  return even === 0 ? 100 : round((Math.max(...counts.map((c) => Math.abs(c - even))) / even) * 100);
}

async function spread(label: string, client: IngestClientT) {
  // warm-up: connections to every replica, then measure
  await runLoad(client, Math.min(300, opts.requests));
  const before = await snapshot(replicas);
  const load = await runLoad(client, opts.requests);
  const after = await snapshot(replicas);
  const perReplica = after.map((a, k) => a - (before[k] ?? 0));
  const served = perReplica.reduce((a, b) => a + b, 0);
  const dev = deviationPct(perReplica);
  note(
    `${label}: ${load.ok}/${opts.requests} ok in ${round(load.seconds, 2)} s, per replica ${perReplica.join('/')} (max deviation ${dev} %)`,
  );
  if (load.failed > 0) failures.push(`${label}: ${load.failed} of ${opts.requests} calls failed (${load.firstError})`);
  if (load.notAccepted > 0) failures.push(`${label}: ${load.notAccepted} calls had events not ACCEPTED`);
  if (served !== load.ok) failures.push(`${label}: replicas counted ${served} calls, the client ${load.ok}`);
  if (dev > opts.maxDeviationPct)
    failures.push(`${label}: spread ${perReplica.join('/')} deviates ${dev} % from even (limit ${opts.maxDeviationPct} %)`);
  return {
    requests: opts.requests,
    ok: load.ok,
    calls_per_s: Math.round(load.ok / load.seconds),
    per_replica: perReplica,
    max_deviation_pct: dev,
  };
}

async function failover(label: string, client: IngestClientT, onKilled?: () => void) {
  const victim = replicas[opts.kill - 1]!;
  const survivors = replicas.filter((r) => r !== victim);
  const killAt = Math.max(1, Math.floor((opts.requests * opts.killAtPct) / 100));
  let killed: Promise<number[]> | undefined;
  let completedAtKill = 0;
  const load = await runLoad(client, opts.requests, (completed) => {
    if (killed || completed < killAt) return;
    completedAtKill = completed;
    victim.child?.kill('SIGKILL');
    onKilled?.();
    // survivors' counters right after the kill: whatever they count beyond this was served after it
    killed = snapshot(survivors);
  });
  const atKill = await killed!;
  const after = await snapshot(survivors);
  const servedAfterKill = after.map((a, k) => a - (atKill[k] ?? 0));
  // the survivors are still serving once the load is over: a short burst must spread over both
  const probeBefore = await snapshot(survivors);
  const probe = await runLoad(client, 200);
  const probeAfter = await snapshot(survivors);
  const probeServed = probeAfter.map((a, k) => a - (probeBefore[k] ?? 0));
  const survivorReport = survivors.map((r, k) => ({
    name: r.name,
    served_after_kill: servedAfterKill[k] ?? 0,
    served_in_probe: probeServed[k] ?? 0,
  }));
  const servedTotal = servedAfterKill.reduce((a, b) => a + b, 0);
  note(
    `${label} failover: killed ${victim.name} after ${completedAtKill} calls; ${load.failed} failed after retries, ` +
      `${servedTotal} served after the kill by ${survivors.map((s) => s.name).join('+')} (${servedAfterKill.join('/')}); probe ${probe.ok}/200 ok (${probeServed.join('/')})`,
  );
  if (load.failed > 0)
    failures.push(`${label} failover: ${load.failed} calls failed after retries (${JSON.stringify(load.failedCodes)}; ${load.firstError})`);
  if (probe.failed > 0) failures.push(`${label} failover: ${probe.failed} of 200 calls after the kill failed (${probe.firstError})`);
  for (const s of survivorReport) {
    if (s.served_after_kill === 0 || s.served_in_probe === 0) failures.push(`${label} failover: survivor ${s.name} stopped serving`);
  }
  return {
    killed: victim.name,
    requests: opts.requests,
    killed_after_calls: completedAtKill,
    ok: load.ok,
    failed_after_retries: load.failed,
    failed_codes: load.failedCodes,
    served_after_kill: servedTotal,
    survivors: survivorReport,
  };
}

async function restartVictim(): Promise<void> {
  const victim = replicas[opts.kill - 1]!;
  if (victim.child && !exited(victim.child)) return;
  startReplica(victim);
  await waitReady(victim);
  note(`restarted ${victim.name}`);
}

async function cleanup(): Promise<void> {
  const children = [nginx, ...replicas.map((r) => r.child)].filter((c): c is ChildProcess => c !== undefined);
  await Promise.all(children.map((c) => stopChild(c, c === nginx ? 'SIGQUIT' : 'SIGTERM')));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    note(`${signal}: stopping the replicas and nginx`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function main() {
  note(`working directory ${dir}`);
  const ports = new Set<number>();
  const port = async () => {
    for (;;) {
      const p = await freePort();
      if (!ports.has(p)) {
        ports.add(p);
        return p;
      }
    }
  };
  for (let k = 1; k <= opts.replicas; k++) {
    replicas.push({ name: `replica-${k}`, grpcPort: await port(), httpPort: await port(), log: join(dir, `replica-${k}.log`) });
  }
  replicas.forEach(startReplica);
  await Promise.all(replicas.map((r) => waitReady(r)));
  note(`replicas ready: ${replicas.map((r) => `${r.name} grpc ${r.grpcPort} http ${r.httpPort} pid ${r.child?.pid}`).join(', ')}`);

  // L7 proxy: one client connection to nginx, nginx balances every call over the replicas
  const proxyPort = await port();
  await startNginx(proxyPort);
  note(`nginx pid ${nginx?.pid} on ${HOST}:${proxyPort}`);
  const proxyClient = makeClient(`${HOST}:${proxyPort}`, false);
  const proxySpread = await spread('proxy', proxyClient);
  const proxyConnections = new Set(accessLogLines().map((l) => l.split(' ')[0])).size;
  const linesBefore = accessLogLines().length;
  const proxyFailover = await failover('proxy', proxyClient);
  const failoverLines = accessLogLines().slice(linesBefore);
  // calls nginx sent to more than one replica (the killed one first), invisible to the client
  const proxyRetried = failoverLines.filter((l) => /"[^"]*, [^"]*"/.test(l)).length;
  // calls cut off by the kill, answered UNAVAILABLE (trailers-only, status 204) by nginx and retried by the client
  const proxyUnavailable = failoverLines.filter((l) => l.split(' ')[3] === '204').length;
  proxyClient.close();
  await restartVictim();

  // client-side: the client connects to every replica and picks one per call
  const target = `ipv4:${replicas.map((r) => `${HOST}:${r.grpcPort}`).join(',')}`;
  const rrClient = makeClient(target, true);
  const rrSpread = await spread('client_round_robin', rrClient);
  const rrFailover = await failover('client_round_robin', rrClient);
  rrClient.close();

  const report = {
    bench: 'grpc-lb',
    replicas: opts.replicas,
    rpc: `${SERVICE}/ValidateEvents`,
    batch_events: opts.batch,
    concurrency: opts.concurrency,
    proxy: {
      kind: 'nginx grpc_pass',
      client_connections: proxyConnections,
      ...proxySpread,
      failover: { ...proxyFailover, retried_by_proxy: proxyRetried, unavailable_from_proxy: proxyUnavailable },
    },
    client_round_robin: { target, ...rrSpread, failover: rrFailover },
    ok: failures.length === 0,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

let exitCode = 0;
try {
  await main();
} catch (error) {
  failures.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
} finally {
  await cleanup();
}
if (failures.length > 0) {
  for (const f of failures) process.stderr.write(`lb: FAILED: ${f}\n`);
  process.stderr.write(`lb: logs kept in ${dir}\n`);
  exitCode = 1;
} else {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
