import * as grpc from '@grpc/grpc-js';
import { protoFile, protoRoot } from '@pulse/contracts';
import fc from 'fast-check';
import { isAbsolute, join } from 'node:path';
import * as protobuf from 'protobufjs';
import { authorizationHeader } from '../../auth/authenticator';
import { channelCredentials, type GrpcTlsSettings } from '../../grpc/tls';
import { encodeMessage, messageArbitrary } from './message-arbitrary';
import { wireMutationArbitrary } from './wire-mutations';

/** Statuses that say the server failed, whatever the request: a client's bad request must never get them. */
export const SERVER_FAULTS = new Set<grpc.status>([grpc.status.INTERNAL, grpc.status.UNKNOWN]);

export interface FuzzServiceOptions {
  /** `host:port` of the server. */
  address: string;
  /** Proto file relative to proto/ and the fully-qualified service, e.g. `pulse.ingest.v1.IngestService`. */
  protoFile: string;
  service: string;
  /** An API key or JWT sent on every call (its scopes decide which handlers the requests reach). */
  credentials?: string;
  tls?: GrpcTlsSettings;
  /** Requests per RPC. */
  perRpc: number;
  /** Share of the requests that are raw wire mutations rather than generated messages (default 0.3). */
  rawShare?: number;
  /** fast-check seed: the same seed sends the same requests. */
  seed?: number;
  /** Calls in flight (default 8). */
  concurrency?: number;
  /** Deadline of each call (default 15 s). */
  deadlineMs?: number;
  /** RPCs left out (by method name). */
  skip?: (method: string) => boolean;
  /** Called after each RPC's requests. */
  onRpc?: (report: RpcFuzzReport) => void;
}

export interface RpcFuzzReport {
  method: string;
  sent: number;
  /** Status name → calls. */
  byStatus: Record<string, number>;
  /** Calls answered INTERNAL or UNKNOWN (at most 5 kept in `examples`). */
  serverFaults: number;
  examples: { status: string; details: string; request: string }[];
  /** Whether the server still answered its health check after this RPC's requests. */
  aliveAfter: boolean;
  ms: number;
}

export interface FuzzServiceReport {
  service: string;
  /** Requests each RPC was to get. */
  perRpc: number;
  rpcs: RpcFuzzReport[];
  serverFaults: number;
  /** The first RPC after which the server stopped answering its health check, if any. */
  crashedAfter?: string;
}

const roots = new Map<string, protobuf.Root>();

/** The contracts' protobufjs root holding `relativeProtoFile` (imports resolved under proto/, google's types built in). */
export function contractRoot(relativeProtoFile: string): protobuf.Root {
  let root = roots.get(relativeProtoFile);
  if (!root) {
    root = new protobuf.Root();
    root.resolvePath = (_origin, target) =>
      isAbsolute(target) || target.startsWith('google/protobuf/') ? target : join(protoRoot(), target);
    root.loadSync(protoFile(relativeProtoFile), { keepCase: false });
    root.resolveAll();
    roots.set(relativeProtoFile, root);
  }
  return root;
}

const identity = (b: Buffer) => b;

/**
 * grpc.health.v1 Health/Check of `service` (empty: the whole server) on a raw client: the status number it answers
 * (1 SERVING, 2 NOT_SERVING, 0 when the field is absent) or undefined when it does not answer.
 */
export function healthCheck(client: grpc.Client, service = '', metadata = new grpc.Metadata()): Promise<number | undefined> {
  const name = Buffer.from(service);
  const request = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, name.length]), name]);
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      identity,
      identity,
      request,
      metadata,
      { deadline: Date.now() + 5_000 },
      (error, response?: Buffer) => resolve(error ? undefined : (response?.[1] ?? 0)),
    ),
  );
}

/**
 * Sends generated and malformed requests to every RPC of a running service and counts the answers: a request a
 * client got wrong must be answered with a client error (INVALID_ARGUMENT, NOT_FOUND, ...), never INTERNAL or
 * UNKNOWN, and the server must keep answering its health check. Requests come from fast-check arbitraries built
 * from the request type (messageArbitrary) and from wire mutations of a valid encoding (wireMutationArbitrary);
 * client-streaming RPCs get a stream of 1 to 4 of them.
 */
export async function fuzzService(options: FuzzServiceOptions): Promise<FuzzServiceReport> {
  const root = contractRoot(options.protoFile);
  const service = root.lookupService(options.service);
  const client = new grpc.Client(options.address, channelCredentials(options.tls), {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  const metadata = () => {
    const m = new grpc.Metadata();
    if (options.credentials) m.set('authorization', authorizationHeader(options.credentials));
    return m;
  };
  const report: FuzzServiceReport = { service: options.service, perRpc: options.perRpc, rpcs: [], serverFaults: 0 };
  try {
    for (const method of service.methodsArray) {
      if (options.skip?.(method.name)) continue;
      const started = Date.now();
      const rpc: RpcFuzzReport = { method: method.name, sent: 0, byStatus: {}, serverFaults: 0, examples: [], aliveAfter: true, ms: 0 };
      method.resolve();
      const requestType = method.resolvedRequestType!;
      const path = `/${options.service}/${method.name}`;
      for await (const batch of requests(requestType, options)) {
        await inParallel(batch, options.concurrency ?? 8, async (payload) => {
          const answer = await call(client, path, method, payload, metadata(), options.deadlineMs ?? 15_000);
          rpc.sent++;
          const name = grpc.status[answer.code] ?? String(answer.code);
          rpc.byStatus[name] = (rpc.byStatus[name] ?? 0) + 1;
          if (SERVER_FAULTS.has(answer.code)) {
            rpc.serverFaults++;
            if (rpc.examples.length < 5) {
              const first = Buffer.from(payload[0] ?? []);
              rpc.examples.push({
                status: name,
                details: answer.details.slice(0, 300),
                request: `${first.length} bytes: ${first.subarray(0, 48).toString('hex')}`,
              });
            }
          }
        });
      }
      rpc.aliveAfter = (await healthCheck(client, '', metadata())) !== undefined;
      rpc.ms = Date.now() - started;
      report.rpcs.push(rpc);
      report.serverFaults += rpc.serverFaults;
      options.onRpc?.(rpc);
      if (!rpc.aliveAfter) {
        report.crashedAfter = method.name;
        break;
      }
    }
  } finally {
    client.close();
  }
  return report;
}

/** The requests of one RPC, 100 at a time (each a list of messages: one, or a stream's). */
async function* requests(type: protobuf.Type, options: FuzzServiceOptions): AsyncGenerator<Uint8Array[][]> {
  const seed = options.seed ?? 1;
  const raw = Math.round(options.perRpc * (options.rawShare ?? 0.3));
  const generated = options.perRpc - raw;
  const messages = messageArbitrary(type);
  const encoded = messages.map((m) => encodeMessage(type, m) ?? new Uint8Array(0));
  const base = encodeMessage(type, fc.sample(messages, { numRuns: 1, seed })[0]) ?? new Uint8Array(0);
  const mutated = wireMutationArbitrary(type, base.length < 4_096 ? base : new Uint8Array(0));
  const one = fc.oneof({ weight: generated, arbitrary: encoded }, { weight: Math.max(raw, 0), arbitrary: mutated });
  const stream = fc.array(one, { minLength: 1, maxLength: 4 });
  for (let chunk = 0, left = options.perRpc; left > 0; chunk++) {
    const n = Math.min(100, left);
    left -= n;
    // Unary calls send one message; the generator also makes streams, used by client-streaming RPCs.
    yield fc.sample(stream, { numRuns: n, seed: seed + chunk });
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function call(
  client: grpc.Client,
  path: string,
  method: protobuf.Method,
  payload: Uint8Array[],
  metadata: grpc.Metadata,
  deadlineMs: number,
): Promise<{ code: grpc.status; details: string }> {
  const deadline = Date.now() + deadlineMs;
  const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new Promise((resolve) => {
    const done = (error: grpc.ServiceError | null) =>
      resolve(error ? { code: error.code, details: error.details ?? '' } : { code: grpc.status.OK, details: '' });
    if (method.requestStream) {
      const stream = client.makeClientStreamRequest(path, identity, identity, metadata, { deadline }, done);
      stream.on('error', () => undefined);
      for (const message of payload) stream.write(toBuffer(message));
      stream.end();
    } else if (method.responseStream) {
      const stream = client.makeServerStreamRequest(path, identity, identity, toBuffer(payload[0]), metadata, { deadline });
      stream.on('data', () => undefined);
      stream.on('error', (error: grpc.ServiceError) => done(error));
      stream.on('end', () => done(null));
    } else {
      client.makeUnaryRequest(path, identity, identity, toBuffer(payload[0]), metadata, { deadline }, done);
    }
  });
}

async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/** One line per RPC: method, requests, statuses, faults. */
export function formatFuzzReport(report: FuzzServiceReport): string {
  const lines = report.rpcs.map(
    (r) =>
      `${report.service}/${r.method}: ${r.sent} requests in ${r.ms} ms, ${Object.entries(r.byStatus)
        .sort((a, b) => b[1] - a[1])
        .map(([s, n]) => `${s} ${n}`)
        .join(
          ', ',
        )}${r.serverFaults ? `; SERVER FAULTS ${r.serverFaults}: ${JSON.stringify(r.examples)}` : ''}${r.aliveAfter ? '' : '; NOT ANSWERING AFTERWARDS'}`,
  );
  return lines.join('\n');
}
