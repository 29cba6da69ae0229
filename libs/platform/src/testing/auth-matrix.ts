import * as grpc from '@grpc/grpc-js';
import { ALL_SCOPES, type Scope } from '../auth/scopes';
import { grpcClient } from '../grpc/grpc-client';
import { protoMethods } from '../grpc/server-reflection';
import { declaredRpcs } from '../nest/auth.decorators';
import { issueTestApiKey, type TestApiKey } from './test-api-key';

type ControllerClass = abstract new (...args: never[]) => unknown;

/** `TrackEvents` and `trackEvents` are the same RPC to Nest (ts-proto names handlers in camelCase). */
const rpcKey = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

/**
 * Where a service's proto and its controller disagree on scopes: proto RPCs whose handler declares neither
 * `@RequiresScope` nor `@Public`, and handlers of RPCs the proto does not have. Empty when every RPC is declared.
 */
export function undeclaredRpcs(service: string, controller: ControllerClass): string[] {
  const proto = protoMethods(service);
  if (proto.length === 0) return [`${service}: not in proto/descriptor_set.binpb`];
  const declared = new Map(declaredRpcs(controller).map((d) => [rpcKey(d.rpc), d]));
  const problems = proto.filter((m) => !declared.get(rpcKey(m.name))?.requirement).map((m) => `${service}/${m.name} declares no scope`);
  for (const d of declared.values())
    if (!proto.some((m) => rpcKey(m.name) === rpcKey(d.rpc)))
      problems.push(`${controller.name}.${d.handler} serves ${d.rpc}, which ${service} does not have`);
  return problems;
}

/** The answer of one RPC to a caller without credentials, with a scope it does not need, and with the one it does. */
export interface MatrixRow {
  rpc: string;
  scope: Scope | 'public';
  none: string;
  wrong: string;
  right: string;
}

const AUTH_ERRORS = new Set(['UNAUTHENTICATED', 'PERMISSION_DENIED']);

/** Rows that do not answer UNAUTHENTICATED / PERMISSION_DENIED / something other than an auth error, described. */
export function matrixProblems(rows: readonly MatrixRow[]): string[] {
  return rows.flatMap((r) => {
    if (r.scope === 'public')
      return AUTH_ERRORS.has(r.none) ? [`${r.rpc} is public but refused a caller without credentials (${r.none})`] : [];
    const problems: string[] = [];
    if (r.none !== 'UNAUTHENTICATED') problems.push(`${r.rpc} without credentials answered ${r.none}, expected UNAUTHENTICATED`);
    if (r.wrong !== 'PERMISSION_DENIED')
      problems.push(`${r.rpc} with a scope other than ${r.scope} answered ${r.wrong}, expected PERMISSION_DENIED`);
    if (AUTH_ERRORS.has(r.right)) problems.push(`${r.rpc} with ${r.scope} answered ${r.right}`);
    return problems;
  });
}

/** Calls one RPC with an empty request (a stream with no message) and returns the final status name. */
function callOnce(
  client: grpc.Client,
  method: { name: string; clientStreaming: boolean; serverStreaming: boolean },
  metadata: grpc.Metadata,
  deadlineMs: number,
) {
  const deadline = Date.now() + deadlineMs;
  const fn = (client as any)[method.name];
  return new Promise<string>((resolve) => {
    const done = (error: grpc.ServiceError | null) => resolve(grpc.status[error ? error.code : grpc.status.OK]);
    if (method.clientStreaming && !method.serverStreaming) {
      const call = fn.call(client, metadata, { deadline }, (error: grpc.ServiceError | null) => done(error));
      call.end();
    } else if (method.serverStreaming) {
      const call = method.clientStreaming ? fn.call(client, metadata, { deadline }) : fn.call(client, {}, metadata, { deadline });
      if (method.clientStreaming) call.end();
      call.on('data', () => undefined);
      call.on('error', (error: grpc.ServiceError) => done(error));
      call.on('end', () => done(null));
    } else {
      fn.call(client, {}, metadata, { deadline }, (error: grpc.ServiceError | null) => done(error));
    }
  });
}

/**
 * The authorisation matrix of a running service: every RPC of `service` in its proto × {no credentials, an API key
 * with a scope other than the one the RPC declares, a key with exactly that scope}, each called with an empty
 * request. Keys are issued into the store the service reads and deleted afterwards. An RPC without a declaration
 * comes out as a row whose right-scope call was refused.
 */
export async function authorisationMatrix(options: {
  address: string;
  protoFile: string;
  service: string;
  controller: ControllerClass;
  pgUrl: string;
  schema?: string;
  deadlineMs?: number;
}): Promise<MatrixRow[]> {
  const methods = protoMethods(options.service);
  const declared = new Map(declaredRpcs(options.controller).map((d) => [rpcKey(d.rpc), d.requirement]));
  const keys = new Map<Scope, TestApiKey>();
  const keyFor = async (scope: Scope) => {
    let key = keys.get(scope);
    if (!key) {
      key = await issueTestApiKey({
        scopes: [scope],
        label: `matrix-${scope.replace(':', '-')}`,
        pgUrl: options.pgUrl,
        schema: options.schema,
      });
      keys.set(scope, key);
    }
    return key;
  };
  const client = grpcClient(options.address, options.protoFile, options.service);
  const withKey = (key?: TestApiKey) => {
    const metadata = new grpc.Metadata();
    if (key) metadata.set('authorization', `Bearer ${key.key}`);
    return metadata;
  };
  try {
    const rows: MatrixRow[] = [];
    for (const method of methods) {
      const requirement = declared.get(rpcKey(method.name));
      const scope: Scope | 'public' = !requirement ? 'admin' : 'public' in requirement ? 'public' : requirement.scope;
      const needed = scope === 'public' ? 'admin' : scope;
      const other = ALL_SCOPES.find((s) => s !== needed && s !== 'admin') as Scope;
      const call = (metadata: grpc.Metadata) => callOnce(client.raw, method, metadata, options.deadlineMs ?? 10_000);
      rows.push({
        rpc: `${options.service}/${method.name}`,
        scope: requirement ? scope : (`(none declared)` as Scope),
        none: await call(withKey()),
        wrong: await call(withKey(await keyFor(other))),
        right: await call(withKey(await keyFor(needed))),
      });
    }
    return rows;
  } finally {
    client.close();
    for (const key of keys.values()) await key.remove();
  }
}
