import type { Scope } from './scopes';

/** Who is calling: the client an API key was issued to, or the subject of a verified JWT. */
export interface Principal {
  /** The API key's name (the client it was issued to) or the JWT's `sub`. */
  id: string;
  kind: 'api-key' | 'jwt' | 'anonymous';
  scopes: readonly Scope[];
  /** The public id of the API key used (never the key), for logs and revocation. */
  keyId?: string;
}

/** The principal of every call when authentication is off (local runs only): every scope, no identity. */
export const ANONYMOUS: Principal = Object.freeze({
  id: 'anonymous',
  kind: 'anonymous',
  scopes: Object.freeze(['admin']) as readonly Scope[],
});

/** What a log line says about a principal: never a secret. */
export function describePrincipal(principal: Principal): { id: string; kind: Principal['kind']; keyId?: string } {
  return principal.keyId ? { id: principal.id, kind: principal.kind, keyId: principal.keyId } : { id: principal.id, kind: principal.kind };
}
