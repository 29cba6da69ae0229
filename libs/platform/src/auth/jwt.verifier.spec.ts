import { status } from '@grpc/grpc-js';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GrpcStatusError } from '../grpc/grpc-status.error';
import { rejectionOf } from '../testing/rejection';
import { JwtVerifier, scopesOfClaims } from './jwt.verifier';

const ISSUER = 'https://idp.test/';
const AUDIENCE = 'pulse';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

let server: Server;
let jwksUrl: string;
let issuerKey: KeyPair;
let otherKey: KeyPair;
let jwksRequests = 0;

beforeAll(async () => {
  issuerKey = await generateKeyPair('ES256');
  otherKey = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(issuerKey.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  // The issuer's JWKS, served the way an identity provider serves it.
  server = createServer((req, res) => {
    jwksRequests++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

function token(
  claims: JWTPayload,
  options: { key?: KeyPair; kid?: string; expiresIn?: string | number; issuer?: string; audience?: string } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? 'k1' })
    .setIssuedAt()
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign((options.key ?? issuerKey).privateKey);
}

async function refusal(promise: Promise<unknown>): Promise<GrpcStatusError> {
  const error = await rejectionOf<GrpcStatusError>(promise);
  expect(error).toBeInstanceOf(GrpcStatusError);
  return error;
}

describe('JwtVerifier', () => {
  const verifier = () => new JwtVerifier({ jwksUrl, issuer: ISSUER, audience: AUDIENCE });

  it('accepts a token signed by a key of the JWKS: the subject with the Pulse scopes of its scope claim', async () => {
    const principal = await verifier().verify(await token({ sub: 'console', scope: 'recs:read ops:read openid' }));
    expect(principal).toEqual({ id: 'console', kind: 'jwt', scopes: ['recs:read', 'ops:read'] });
  });

  it('reads scopes from scp as a list too', () => {
    expect(scopesOfClaims({ scp: ['storage:read', 'email'] })).toEqual(['storage:read']);
    expect(scopesOfClaims({})).toEqual([]);
  });

  it('fetches the JWKS once and reuses it', async () => {
    const v = verifier();
    const before = jwksRequests;
    for (let i = 0; i < 5; i++) await v.verify(await token({ sub: `s${i}`, scope: 'recs:read' }));
    expect(jwksRequests - before).toBe(1);
  });

  it('refuses an expired token as UNAUTHENTICATED, saying so', async () => {
    const expired = await token({ sub: 'x' }, { expiresIn: Math.floor(Date.now() / 1000) - 3600 });
    const error = await refusal(verifier().verify(expired));
    expect(error.code).toBe(status.UNAUTHENTICATED);
    expect(error.message).toMatch(/expired/);
  });

  it('refuses a token of another issuer or for another audience, naming the claim', async () => {
    const wrongIssuer = await refusal(verifier().verify(await token({ sub: 'x' }, { issuer: 'https://evil.test/' })));
    expect(wrongIssuer.code).toBe(status.UNAUTHENTICATED);
    expect(wrongIssuer.message).toMatch(/iss/);
    const wrongAudience = await refusal(verifier().verify(await token({ sub: 'x' }, { audience: 'someone-else' })));
    expect(wrongAudience.code).toBe(status.UNAUTHENTICATED);
    expect(wrongAudience.message).toMatch(/aud/);
  });

  it('refuses a token signed by a key outside the JWKS', async () => {
    const forged = await refusal(verifier().verify(await token({ sub: 'x', scope: 'admin' }, { key: otherKey })));
    expect(forged.code).toBe(status.UNAUTHENTICATED);
    expect(forged.message).toMatch(/signature/);
    const unknownKid = await refusal(verifier().verify(await token({ sub: 'x' }, { key: otherKey, kid: 'k9' })));
    expect(unknownKid.code).toBe(status.UNAUTHENTICATED);
  });

  it('refuses a token without a subject, and garbage', async () => {
    expect((await refusal(verifier().verify(await token({ scope: 'admin' })))).message).toMatch(/sub/);
    expect((await refusal(verifier().verify('a.b.c'))).code).toBe(status.UNAUTHENTICATED);
  });

  it('answers UNAVAILABLE when the JWKS cannot be fetched: the token may be fine', async () => {
    const down = new JwtVerifier({ jwksUrl: 'http://127.0.0.1:1/jwks.json', issuer: ISSUER, audience: AUDIENCE, timeoutMs: 500 });
    const error = await refusal(down.verify(await token({ sub: 'x' })));
    expect(error.code).toBe(status.UNAVAILABLE);
  });
});
