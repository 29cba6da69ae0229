import { ALL_SCOPES } from '../../auth/scopes';
import { issueTestApiKey } from '../test-api-key';
import { fuzzService, type FuzzServiceOptions, type FuzzServiceReport } from './fuzz-service';

export * from './fuzz-service';
export * from './malformed-records';
export * from './message-arbitrary';
export * from './wire-mutations';

/** Requests per RPC of the suite's short fuzzing (`PULSE_FUZZ_PER_RPC`, default 500); tools/fuzz sends 10,000. */
export function fuzzPerRpc(): number {
  const n = Number(process.env['PULSE_FUZZ_PER_RPC'] ?? 500);
  return Number.isInteger(n) && n > 0 ? n : 500;
}

/**
 * What went wrong in a fuzzing report: server faults per RPC with examples, an RPC that got fewer requests than
 * asked, and a server that stopped answering.
 */
export function fuzzProblems(report: FuzzServiceReport): string[] {
  const problems = report.rpcs
    .filter((r) => r.sent !== report.perRpc)
    .map((r) => `${report.service}/${r.method}: ${r.sent} of ${report.perRpc} requests sent`);
  problems.push(
    ...report.rpcs
      .filter((r) => r.serverFaults > 0)
      .map(
        (r) =>
          `${report.service}/${r.method}: ${r.serverFaults} of ${r.sent} answered INTERNAL/UNKNOWN, e.g. ${JSON.stringify(r.examples[0])}`,
      ),
  );
  if (report.crashedAfter) problems.push(`${report.service} stopped answering its health check after ${report.crashedAfter}`);
  return problems;
}

/**
 * Fuzzes a service under test with an API key holding every scope but `admin` (issued into the store it reads,
 * deleted afterwards): the requests reach every handler a non-admin caller reaches, admin RPCs answer
 * PERMISSION_DENIED (tools/fuzz --admin fuzzes them too, against a platform of its own).
 */
export async function fuzzWithTestKey(
  options: Omit<FuzzServiceOptions, 'credentials' | 'perRpc'> & { pgUrl: string; schema?: string; perRpc?: number },
): Promise<FuzzServiceReport> {
  const key = await issueTestApiKey({
    scopes: ALL_SCOPES.filter((s) => s !== 'admin'),
    label: 'fuzz',
    pgUrl: options.pgUrl,
    schema: options.schema,
  });
  try {
    return await fuzzService({ ...options, credentials: key.key, perRpc: options.perRpc ?? fuzzPerRpc() });
  } finally {
    await key.remove();
  }
}
