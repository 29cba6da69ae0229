import type { Principal } from './principal';

const principals = new WeakMap<object, Principal>();

/** Records the principal of a call on its call and metadata objects (the authorisation guard does). */
export function attachPrincipal(principal: Principal, ...carriers: unknown[]): void {
  for (const carrier of carriers) if (typeof carrier === 'object' && carrier !== null) principals.set(carrier, principal);
}

/**
 * The principal of the call a handler is serving, from its gRPC call or metadata argument: the API key's client or
 * the JWT's subject (`ANONYMOUS` when authentication is off); undefined for a `@Public()` RPC.
 */
export function principalOf(callOrMetadata: unknown): Principal | undefined {
  return typeof callOrMetadata === 'object' && callOrMetadata !== null ? principals.get(callOrMetadata) : undefined;
}
