import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestJwtIssuer {
  /** Where its JWKS is served, for PULSE_AUTH_JWKS_URL. */
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** A token of this issuer for the audience, valid for five minutes unless `expiresIn` says otherwise. */
  sign(claims: JWTPayload, options?: { expiresIn?: string | number; audience?: string }): Promise<string>;
  /** How often the JWKS was fetched. */
  readonly fetches: number;
  close(): Promise<void>;
}

/** An identity provider for tests: an ES256 key pair, its JWKS served over HTTP on a free local port, tokens signed with it. */
export async function startTestJwtIssuer(options: { issuer?: string; audience?: string } = {}): Promise<TestJwtIssuer> {
  const issuer = options.issuer ?? 'https://idp.pulse.test/';
  const audience = options.audience ?? 'pulse';
  const keys = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'test-1', alg: 'ES256', use: 'sig' };
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    issuer,
    audience,
    get fetches() {
      return fetches;
    },
    sign: (claims, signOptions = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'test-1' })
        .setIssuer(issuer)
        .setAudience(signOptions.audience ?? audience)
        .setIssuedAt()
        .setExpirationTime(signOptions.expiresIn ?? '5m')
        .sign(keys.privateKey),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
