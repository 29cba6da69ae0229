import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { GrpcStatus, GrpcStatusError } from '../grpc/grpc-status.error';
import type { Principal } from './principal';
import { isScope, type Scope } from './scopes';

export interface JwtVerifierOptions {
  /** Where the issuer publishes its signing keys (a JWKS document), e.g. `https://idp.example.com/.well-known/jwks.json`. */
  jwksUrl: string;
  /** The `iss` every token must carry. */
  issuer: string;
  /** The `aud` every token must include. */
  audience: string;
  /** Leeway for `exp` and `nbf` against clock skew, in seconds (default 30). */
  clockToleranceSeconds?: number;
  /** How long fetched keys are used before the JWKS is fetched again (default 10 min); an unknown `kid` refetches sooner. */
  cacheMaxAgeMs?: number;
  /** Time limit of one JWKS fetch (default 5 s). */
  timeoutMs?: number;
}

/** `scope` (space-separated, RFC 9068) or `scp` (list or string) → the Pulse scopes among them. */
export function scopesOfClaims(payload: JWTPayload): Scope[] {
  const raw = [payload['scope'], payload['scp']].flatMap((v) =>
    typeof v === 'string' ? v.split(' ') : Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [],
  );
  return [...new Set(raw.filter(isScope))];
}

/** jose error codes that mean the token is not acceptable (as opposed to the key set being unreachable). */
const REJECTED: Record<string, string> = {
  ERR_JWT_EXPIRED: 'the token has expired',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'a claim of the token is not acceptable',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'the token signature does not verify',
  ERR_JWKS_NO_MATCHING_KEY: 'no key of the issuer matches the token',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'several keys of the issuer match the token',
  ERR_JWS_INVALID: 'the token is not a valid JWS',
  ERR_JWT_INVALID: 'the token is not a valid JWT',
  ERR_JOSE_ALG_NOT_ALLOWED: 'the token algorithm is not allowed',
  ERR_JOSE_NOT_SUPPORTED: 'the token algorithm is not supported',
};

/**
 * Verifies bearer JWTs against the issuer's JWKS (fetched and cached by jose, refetched for an unknown `kid`):
 * signature, `iss`, `aud`, `exp`/`nbf`; the principal is the `sub` with the Pulse scopes of `scope`/`scp`.
 * An unacceptable token is UNAUTHENTICATED with the reason; an unreachable JWKS is UNAVAILABLE.
 */
export class JwtVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly options: JwtVerifierOptions) {
    this.jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
      cacheMaxAge: options.cacheMaxAgeMs ?? 10 * 60_000,
      timeoutDuration: options.timeoutMs ?? 5_000,
    });
  }

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: this.options.clockToleranceSeconds ?? 30,
      }));
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      const reason = REJECTED[code];
      if (reason) {
        const claim = (error as { claim?: string }).claim;
        throw new GrpcStatusError(GrpcStatus.UNAUTHENTICATED, claim ? `${reason} (${claim})` : reason);
      }
      throw new GrpcStatusError(
        GrpcStatus.UNAVAILABLE,
        `the token could not be verified: the issuer's keys are unreachable (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    if (!payload.sub) throw new GrpcStatusError(GrpcStatus.UNAUTHENTICATED, 'the token has no subject (sub)');
    return { id: payload.sub, kind: 'jwt', scopes: scopesOfClaims(payload) };
  }
}
