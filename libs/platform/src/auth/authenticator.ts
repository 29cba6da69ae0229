import { GrpcStatus, GrpcStatusError } from '../grpc/grpc-status.error';
import { looksLikeApiKey } from './api-key';
import type { ApiKeyCache } from './api-key.cache';
import type { JwtVerifier } from './jwt.verifier';
import type { Principal } from './principal';
import { grants, type Scope } from './scopes';

/** The credentials of one call, as sent in its metadata (`authorization: Bearer ...` or `x-api-key`). */
export interface CallCredentials {
  authorization?: string;
  apiKey?: string;
}

/** Reads the credentials from gRPC metadata (anything with `get(key)` returning values). */
export function credentialsOf(metadata: { get(key: string): unknown[] } | undefined): CallCredentials {
  const first = (key: string) => {
    const value = metadata?.get(key)[0];
    return typeof value === 'string' ? value : undefined;
  };
  return { authorization: first('authorization'), apiKey: first('x-api-key') };
}

/** The metadata a client sends to present `credentials` (an API key or a JWT). */
export function authorizationHeader(credentials: string): string {
  return `Bearer ${credentials}`;
}

const unauthenticated = (reason: string) => new GrpcStatusError(GrpcStatus.UNAUTHENTICATED, reason);

/**
 * Turns the credentials of a call into a principal: an API key (`pk_...`, as `x-api-key` or a bearer token)
 * looked up through the key cache, or a JWT verified against the issuer's JWKS. Missing or unacceptable
 * credentials are UNAUTHENTICATED with the reason; a store or JWKS that cannot be reached is UNAVAILABLE.
 */
export class Authenticator {
  constructor(private readonly sources: { apiKeys?: ApiKeyCache; jwt?: JwtVerifier }) {}

  async authenticate(credentials: CallCredentials): Promise<Principal> {
    const bearer = bearerToken(credentials.authorization);
    if (credentials.apiKey !== undefined && bearer !== undefined)
      throw unauthenticated('send one credential: either authorization or x-api-key, not both');
    const token = credentials.apiKey ?? bearer;
    if (token === undefined || token === '')
      throw unauthenticated('no credentials: send `authorization: Bearer <API key or JWT>` or `x-api-key: <API key>`');
    if (credentials.apiKey !== undefined || looksLikeApiKey(token)) return this.apiKey(token);
    if (token.split('.').length === 3) return this.jwt(token);
    throw unauthenticated('the bearer token is neither a Pulse API key (pk_...) nor a JWT');
  }

  private async apiKey(key: string): Promise<Principal> {
    if (!this.sources.apiKeys) throw unauthenticated('API keys are not accepted here: present a JWT');
    let principal: Principal | undefined;
    try {
      principal = await this.sources.apiKeys.principal(key);
    } catch (error) {
      throw new GrpcStatusError(
        GrpcStatus.UNAVAILABLE,
        `the API key store cannot be read (${error instanceof Error ? error.message : String(error)}); retry later`,
      );
    }
    if (!principal) throw unauthenticated('unknown, revoked or expired API key');
    return principal;
  }

  private jwt(token: string): Promise<Principal> {
    if (!this.sources.jwt) throw unauthenticated('JWTs are not accepted here (no JWKS is configured): present an API key');
    return this.sources.jwt.verify(token);
  }
}

function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer\s+(\S*)\s*$/i.exec(authorization);
  if (!match) throw unauthenticated('the authorization metadata must be `Bearer <API key or JWT>`');
  return match[1];
}

/** PERMISSION_DENIED unless the principal holds `required` (or `admin`); `rpc` names the call in the reason. */
export function authorize(principal: Principal, required: Scope, rpc: string): void {
  if (grants(principal.scopes, required)) return;
  throw new GrpcStatusError(
    GrpcStatus.PERMISSION_DENIED,
    `${principal.kind} "${principal.id}" lacks the scope ${required} that ${rpc} requires (it has: ${principal.scopes.join(', ') || 'none'})`,
  );
}
