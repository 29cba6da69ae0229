import { z } from 'zod';
import { grpcTlsProblems } from '../grpc/tls';
import { env } from './load-config';

const LOCAL_PG_URL = 'postgres://pulse:pulse@127.0.0.1:25432/pulse';

const optionalUrl = z.union([z.literal(''), z.url()]).default('');

/**
 * The authentication settings of every service (spread into its config schema: `...authEnv`); what they mean is in
 * libs/platform/README.md. `PULSE_AUTH=off` is refused when NODE_ENV=production (`authConfigProblems`).
 */
export const authEnv = {
  /** `on`: every RPC needs credentials carrying its scope; `off` (local runs only): every call is let through. */
  PULSE_AUTH: z.enum(['on', 'off']).default('on'),
  /** PostgreSQL holding the API keys; empty: API keys are not accepted (JWTs only). */
  PULSE_AUTH_PG_URL: z.union([z.literal(''), z.url()]).default(LOCAL_PG_URL),
  /** Schema of the API key table (`tools/auth/api-keys.sh migrate` creates it). */
  PULSE_AUTH_PG_SCHEMA: env.identifier('pulse_auth'),
  /** How long a key lookup is reused; a revoked key keeps working at most this long. */
  PULSE_AUTH_KEY_CACHE_TTL: env.duration('30s'),
  /** While the key store cannot be read, how long past the TTL a key found before keeps working (0s: not at all). */
  PULSE_AUTH_KEY_STALE_IF_ERROR: env.duration('10m'),
  /** JWKS of the token issuer; empty: JWTs are not accepted (API keys only). */
  PULSE_AUTH_JWKS_URL: optionalUrl,
  /** The `iss` JWTs must carry (required with a JWKS). */
  PULSE_AUTH_JWT_ISSUER: z.string().default(''),
  /** The `aud` JWTs must include (required with a JWKS). */
  PULSE_AUTH_JWT_AUDIENCE: z.string().default(''),
  /** This service's own credentials (an API key or a JWT), sent on its calls to peer services. */
  PULSE_API_KEY: z.string().default(''),
  /** Serve gRPC server reflection (grpcurl's `list`/`describe`); off in production. */
  GRPC_REFLECTION: env.bool(true),
  /** This service's certificate (PEM) for its gRPC server and, to peers requiring mTLS, its calls; empty: plaintext. */
  GRPC_TLS_CERT_FILE: z.string().default(''),
  /** The private key (PEM) of GRPC_TLS_CERT_FILE. */
  GRPC_TLS_KEY_FILE: z.string().default(''),
  /** CA bundle (PEM) Pulse's certificates chain to: calls to peers use TLS and verify the server with it; servers check client certificates with it. */
  GRPC_TLS_CA_FILE: z.string().default(''),
  /** `require`: the server accepts only clients presenting a certificate issued by GRPC_TLS_CA_FILE (mTLS); `none`: server TLS only. */
  GRPC_TLS_CLIENT_AUTH: z.enum(['none', 'require']).default('none'),
  /** How often the certificate, key and CA files are read again: a rotated Secret takes effect without a restart. */
  GRPC_TLS_RELOAD_INTERVAL: env.duration('1m'),
  NODE_ENV: z.string().default(''),
};

export type AuthConfig = z.infer<z.ZodObject<typeof authEnv>>;

/** Settings that are each valid but do not go together; `defineService` refuses to start on them, naming the variable. */
export function authConfigProblems(config: Partial<AuthConfig>): { variable: string; message: string }[] {
  if (config.PULSE_AUTH === undefined) return [];
  const problems: { variable: string; message: string }[] = grpcTlsProblems(config);
  if (config.PULSE_AUTH === 'off' && config.NODE_ENV === 'production')
    problems.push({ variable: 'PULSE_AUTH', message: 'off is refused when NODE_ENV=production: every call must be authenticated' });
  if (config.PULSE_AUTH === 'on') {
    if (!config.PULSE_AUTH_PG_URL && !config.PULSE_AUTH_JWKS_URL)
      problems.push({
        variable: 'PULSE_AUTH_PG_URL',
        message: 'with PULSE_AUTH=on set PULSE_AUTH_PG_URL (API keys) or PULSE_AUTH_JWKS_URL (JWTs), or both',
      });
    if (config.PULSE_AUTH_JWKS_URL && !config.PULSE_AUTH_JWT_ISSUER)
      problems.push({ variable: 'PULSE_AUTH_JWT_ISSUER', message: 'required with PULSE_AUTH_JWKS_URL' });
    if (config.PULSE_AUTH_JWKS_URL && !config.PULSE_AUTH_JWT_AUDIENCE)
      problems.push({ variable: 'PULSE_AUTH_JWT_AUDIENCE', message: 'required with PULSE_AUTH_JWKS_URL' });
  }
  return problems;
}
