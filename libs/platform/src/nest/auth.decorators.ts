import { SetMetadata } from '@nestjs/common';
import type { Scope } from '../auth/scopes';

export const REQUIRED_SCOPE = 'pulse:requiredScope';
export const PUBLIC_RPC = 'pulse:publicRpc';

/** The scope a caller's credentials must carry to call this RPC (`admin` carries every scope). */
export const RequiresScope = (scope: Scope) => SetMetadata(REQUIRED_SCOPE, scope);

/** An RPC anyone may call without credentials; only for what must be open. */
export const Public = () => SetMetadata(PUBLIC_RPC, true);

export type RpcRequirement = { scope: Scope } | { public: true } | undefined;

/** What an RPC handler declared (its own decorator, else its controller's); undefined when it declared nothing. */
export function requirementOf(controller: object, handler: object): RpcRequirement {
  const read = (key: string) => Reflect.getMetadata(key, handler) ?? Reflect.getMetadata(key, controller);
  if (read(PUBLIC_RPC) === true) return { public: true };
  const scope = read(REQUIRED_SCOPE) as Scope | undefined;
  return scope ? { scope } : undefined;
}

/** One gRPC handler of a controller and what it declared. */
export interface DeclaredRpc {
  /** Fully-qualified service, e.g. `pulse.recs.v1.RecsService` when the package is known, else as Nest has it (`RecsService`). */
  service: string;
  /** RPC name as in the proto, e.g. `PromoteModel`. */
  rpc: string;
  /** The controller method. */
  handler: string;
  requirement: RpcRequirement;
}

const PATTERN_METADATA = 'microservices:pattern';

/** The gRPC handlers of a controller class (the methods Nest routes RPCs to) with the scope each declares. */
export function declaredRpcs(controller: abstract new (...args: never[]) => unknown): DeclaredRpc[] {
  const prototype = controller.prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(prototype).flatMap((handler) => {
    const fn = Object.getOwnPropertyDescriptor(prototype, handler)?.value;
    if (typeof fn !== 'function' || handler === 'constructor') return [];
    const patterns = Reflect.getMetadata(PATTERN_METADATA, fn) as { service?: string; rpc?: string }[] | undefined;
    return (patterns ?? [])
      .filter((p) => p.service && p.rpc)
      .map((p) => ({ service: p.service as string, rpc: p.rpc as string, handler, requirement: requirementOf(controller, fn) }));
  });
}
