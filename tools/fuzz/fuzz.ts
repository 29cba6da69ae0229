/**
 * Fuzzing of every gRPC service of a running platform (`./pulse up`, or any whose addresses are the service list's
 * defaults or PULSE_FUZZ_HOST):
 *
 *   tools/fuzz/fuzz [--per-rpc N] [--seed S] [--admin] [--only a,b]
 *
 * For each service of the service list with a gRPC port, the contract it serves is found by asking its health
 * service about each `proto/pulse/<domain>/v1/*_service.proto`; then every RPC gets N requests (default 10,000)
 * generated from its request type and mutated on the wire (libs/platform/src/testing/fuzz). The requests carry
 * a temporary API key with every scope but `admin` (issued into PULSE_AUTH_PG_URL, the local stack's by default,
 * and deleted at the end), so admin RPCs answer PERMISSION_DENIED; `--admin` sends them with PULSE_API_KEY or the
 * local admin key of `./pulse up` (tmp/pulse-admin.key) instead, reaching the admin handlers too (they change how
 * the platform runs: promote, pause, vacuum, sweep — a platform of its own only). It checks that no request is
 * answered INTERNAL or UNKNOWN, that every service still answers its health check, and that each service's
 * memory (V8 heap and buffers) comes back near where it started; one JSON line per contract, exit 1 on any problem.
 */
import * as grpc from '@grpc/grpc-js';
import { protoRoot } from '@pulse/contracts';
import { SERVICE_LIST } from '@pulse/platform';
import { ALL_SCOPES } from '@pulse/platform';
import {
  contractRoot,
  formatFuzzReport,
  fuzzProblems,
  fuzzService,
  healthCheck,
  issueTestApiKey,
  type TestApiKey,
} from '@pulse/platform/testing';
import * as protobuf from 'protobufjs';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryOf, mib, settledMemory } from './memory';

const USAGE = 'usage: tools/fuzz/fuzz [--per-rpc N] [--seed S] [--admin] [--only name,name]';

interface Args {
  perRpc: number;
  seed: number;
  admin: boolean;
  only?: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { perRpc: 10_000, seed: Date.now() % 1_000_000, admin: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--per-rpc') args.perRpc = Number(argv[++i]);
    else if (a === '--seed') args.seed = Number(argv[++i]);
    else if (a === '--admin') args.admin = true;
    else if (a === '--only') args.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (!Number.isInteger(args.perRpc) || args.perRpc < 1) throw new Error(`--per-rpc must be a positive integer\n${USAGE}`);
  if (!Number.isInteger(args.seed)) throw new Error(`--seed must be an integer\n${USAGE}`);
  return args;
}

/** Every service contract: `{ protoFile, service }` of each proto/pulse/<domain>/v1/*_service.proto. */
function contracts(): { protoFile: string; service: string }[] {
  const found: { protoFile: string; service: string }[] = [];
  const pulse = join(protoRoot(), 'pulse');
  for (const domain of readdirSync(pulse)) {
    const dir = join(pulse, domain, 'v1');
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('_service.proto'))) {
      const protoFile = `pulse/${domain}/v1/${file}`;
      const root = contractRoot(protoFile);
      const pkg = `pulse.${domain}.v1`;
      const ns = root.lookup(pkg);
      if (!(ns instanceof protobuf.Namespace)) continue;
      for (const nested of ns.nestedArray)
        if (nested instanceof protobuf.Service) found.push({ protoFile, service: `${pkg}.${nested.name}` });
    }
  }
  return found;
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const host = process.env['PULSE_FUZZ_HOST'] ?? '127.0.0.1';
  let temporary: TestApiKey | undefined;
  let credentials: string;
  if (args.admin) {
    const keyFile = join(process.cwd(), 'tmp', 'pulse-admin.key');
    credentials = process.env['PULSE_API_KEY'] || (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : '');
    if (!credentials) throw new Error('--admin needs PULSE_API_KEY or the key ./pulse up writes to tmp/pulse-admin.key');
  } else {
    temporary = await issueTestApiKey({
      scopes: ALL_SCOPES.filter((s) => s !== 'admin'),
      label: 'fuzz',
      pgUrl: process.env['PULSE_AUTH_PG_URL'] || undefined,
    });
    credentials = temporary.key;
  }
  try {
    return await fuzzAll(args, host, credentials);
  } finally {
    await temporary?.remove();
  }
}

async function fuzzAll(args: Args, host: string, credentials: string): Promise<number> {
  const all = contracts();
  let problems = 0;
  for (const svc of SERVICE_LIST) {
    if (svc.grpcPort === null || (args.only && !args.only.includes(svc.name))) continue;
    const address = `${host}:${svc.grpcPort}`;
    const httpUrl = `http://${host}:${svc.httpPort}`;
    const served: typeof all = [];
    const probe = new grpc.Client(address, grpc.credentials.createInsecure());
    for (const c of all) if ((await healthCheck(probe, c.service)) === 1) served.push(c);
    probe.close();
    if (served.length === 0) {
      process.stderr.write(`${svc.name}: nothing answers SERVING at ${address} (is ./pulse up running?)\n`);
      problems++;
      continue;
    }
    const before = await memoryOf(httpUrl);
    for (const contract of served) {
      const started = Date.now();
      const report = await fuzzService({
        address,
        ...contract,
        credentials,
        perRpc: args.perRpc,
        seed: args.seed,
        onRpc: (rpc) =>
          process.stderr.write(
            `${formatFuzzReport({ service: contract.service, perRpc: args.perRpc, rpcs: [rpc], serverFaults: rpc.serverFaults })}\n`,
          ),
      });
      const stopped = Date.now();
      const after = await settledMemory(httpUrl, before);
      const found = fuzzProblems(report);
      if (after !== undefined && before !== undefined && !after.settled)
        found.push(`${svc.name}: heap + external memory ${mib(before.held)} MiB before, ${mib(after.held)} MiB 90 s after`);
      problems += found.length;
      process.stdout.write(
        `${JSON.stringify({
          service: svc.name,
          contract: contract.service,
          seed: args.seed,
          rpcs: report.rpcs.length,
          requests_per_rpc: args.perRpc,
          requests: report.rpcs.reduce((n, r) => n + r.sent, 0),
          server_faults: report.serverFaults,
          crashed: report.crashedAfter !== undefined,
          held_before_mib: mib(before?.held),
          held_after_mib: mib(after?.held),
          rss_before_mib: mib(before?.rss),
          rss_after_mib: mib(after?.rss),
          settle_seconds: Math.round((Date.now() - stopped) / 1000),
          seconds: Math.round((stopped - started) / 1000),
          problems: found,
        })}\n`,
      );
    }
  }
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
