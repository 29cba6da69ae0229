import { Metadata, status } from '@grpc/grpc-js';
import { GrpcStatusError } from '../grpc/grpc-status.error';
import { rejectionOf } from '../testing/rejection';
import { hashApiKey } from './api-key';
import { ApiKeyCache } from './api-key.cache';
import { Authenticator, authorize, credentialsOf } from './authenticator';
import type { JwtVerifier } from './jwt.verifier';
import type { Principal } from './principal';

const KEY = 'pk_0123456789ab_' + 'k'.repeat(43);
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjb25zb2xlIn0.c2ln';

const keys = new ApiKeyCache(
  {
    findActiveByHash: async (hash) =>
      hash === hashApiKey(KEY)
        ? { keyId: '0123456789ab', name: 'recommender', scopes: ['storage:read'], createdAt: new Date(), expiresAt: null, revokedAt: null }
        : undefined,
  },
  { ttlMs: 1_000 },
);
const jwt = { verify: async () => ({ id: 'console', kind: 'jwt', scopes: ['ops:read'] }) as Principal } as unknown as JwtVerifier;
const authenticator = new Authenticator({ apiKeys: keys, jwt });

function metadata(entries: Record<string, string>): Metadata {
  const m = new Metadata();
  for (const [k, v] of Object.entries(entries)) m.set(k, v);
  return m;
}

async function refusal(promise: Promise<unknown>): Promise<GrpcStatusError> {
  const error = await rejectionOf<GrpcStatusError>(promise);
  expect(error).toBeInstanceOf(GrpcStatusError);
  return error;
}

const authenticate = (entries: Record<string, string>) => authenticator.authenticate(credentialsOf(metadata(entries)));

describe('Authenticator', () => {
  it('accepts an API key as a bearer token or as x-api-key', async () => {
    expect(await authenticate({ authorization: `Bearer ${KEY}` })).toMatchObject({ id: 'recommender', kind: 'api-key' });
    expect(await authenticate({ 'x-api-key': KEY })).toMatchObject({ id: 'recommender', kind: 'api-key' });
  });

  it('verifies a bearer JWT', async () => {
    expect(await authenticate({ authorization: `bearer ${JWT}` })).toMatchObject({ id: 'console', kind: 'jwt' });
  });

  it.each([
    [{}, /no credentials/],
    [{ authorization: 'Basic dXNlcjpwdw==' }, /must be `Bearer/],
    [{ authorization: 'Bearer ' }, /no credentials/],
    [{ authorization: 'Bearer opaque-token' }, /neither a Pulse API key/],
    [{ authorization: `Bearer pk_0123456789ab_${'z'.repeat(43)}` }, /unknown, revoked or expired API key/],
    [{ authorization: `Bearer ${KEY}`, 'x-api-key': KEY }, /one credential/],
  ])('refuses %j as UNAUTHENTICATED with the reason', async (entries, reason) => {
    const error = await refusal(authenticate(entries as Record<string, string>));
    expect(error.code).toBe(status.UNAUTHENTICATED);
    expect(error.message).toMatch(reason);
  });

  it('answers UNAVAILABLE when the key store cannot be read', async () => {
    const broken = new Authenticator({
      apiKeys: new ApiKeyCache({ findActiveByHash: () => Promise.reject(new Error('ECONNREFUSED')) }, { ttlMs: 1_000 }),
    });
    const error = await refusal(broken.authenticate({ apiKey: KEY }));
    expect(error.code).toBe(status.UNAVAILABLE);
  });

  it('refuses the kind of credential it is not configured for', async () => {
    expect((await refusal(new Authenticator({ apiKeys: keys }).authenticate({ authorization: `Bearer ${JWT}` }))).message).toMatch(
      /JWTs are not accepted/,
    );
    expect((await refusal(new Authenticator({ jwt }).authenticate({ apiKey: KEY }))).message).toMatch(/API keys are not accepted/);
  });
});

describe('authorize', () => {
  const principal: Principal = { id: 'simulator', kind: 'api-key', keyId: 'abc', scopes: ['events:write'] };

  it('lets a principal with the scope (or admin) through', () => {
    expect(() => authorize(principal, 'events:write', 'pulse.ingest.v1.IngestService/TrackEvents')).not.toThrow();
    expect(() => authorize({ ...principal, scopes: ['admin'] }, 'admin', 'x')).not.toThrow();
  });

  it('refuses one without it as PERMISSION_DENIED, naming who, what is missing and for which RPC', () => {
    let error: GrpcStatusError | undefined;
    try {
      authorize(principal, 'admin', 'pulse.recs.v1.RecsService/PromoteModel');
    } catch (e) {
      error = e as GrpcStatusError;
    }
    expect(error?.code).toBe(status.PERMISSION_DENIED);
    expect(error?.message).toBe(
      'api-key "simulator" lacks the scope admin that pulse.recs.v1.RecsService/PromoteModel requires (it has: events:write)',
    );
  });
});
