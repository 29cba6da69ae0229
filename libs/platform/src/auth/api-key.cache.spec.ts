import { hashApiKey } from './api-key';
import { ApiKeyCache } from './api-key.cache';
import type { ApiKeyLookup, StoredApiKey } from './api-key.pg.store';

const KEY = 'pk_0123456789ab_' + 'a'.repeat(43);

function storedKey(overrides: Partial<StoredApiKey> = {}): StoredApiKey {
  return {
    keyId: '0123456789ab',
    name: 'simulator',
    scopes: ['events:write', 'recs:read'],
    createdAt: new Date(0),
    expiresAt: null,
    revokedAt: null,
    ...overrides,
  };
}

/** A store whose rows the test changes (revokes), counting lookups. */
class FakeStore implements ApiKeyLookup {
  rows = new Map<string, StoredApiKey>();
  lookups = 0;
  failing = false;
  async findActiveByHash(hash: string) {
    this.lookups++;
    await new Promise((r) => setImmediate(r));
    if (this.failing) throw new Error('connection refused');
    return this.rows.get(hash);
  }
}

describe('ApiKeyCache', () => {
  let now = 1_000_000;
  const clock = () => now;
  let store: FakeStore;
  let cache: ApiKeyCache;

  beforeEach(() => {
    now = 1_000_000;
    store = new FakeStore();
    store.rows.set(hashApiKey(KEY), storedKey());
    cache = new ApiKeyCache(store, { ttlMs: 30_000, now: clock });
  });

  it('maps a key to its principal: the name it was issued to, its scopes and its public id', async () => {
    expect(await cache.principal(KEY)).toEqual({
      id: 'simulator',
      kind: 'api-key',
      keyId: '0123456789ab',
      scopes: ['events:write', 'recs:read'],
    });
  });

  it('looks the hash up, never the key', async () => {
    const seen: string[] = [];
    const spy = new ApiKeyCache({ findActiveByHash: async (h) => void seen.push(h) as undefined }, { ttlMs: 1 });
    await spy.principal(KEY);
    expect(seen).toEqual([hashApiKey(KEY)]);
  });

  it('asks the store once per key and TTL, however many calls arrive, concurrent ones included', async () => {
    await Promise.all(Array.from({ length: 20 }, () => cache.principal(KEY)));
    await cache.principal(KEY);
    now += 29_000;
    await cache.principal(KEY);
    expect(store.lookups).toBe(1);
  });

  it('sees a revocation once the TTL has passed', async () => {
    expect(await cache.principal(KEY)).toBeDefined();
    store.rows.clear(); // revoked: the store no longer finds it among the active keys
    now += 10_000;
    expect(await cache.principal(KEY)).toBeDefined();
    now += 20_001;
    expect(await cache.principal(KEY)).toBeUndefined();
  });

  it('remembers unknown keys too, so a flood of bad keys costs one lookup each per TTL', async () => {
    const bad = 'pk_ffffffffffff_' + 'b'.repeat(43);
    expect(await cache.principal(bad)).toBeUndefined();
    expect(await cache.principal(bad)).toBeUndefined();
    expect(store.lookups).toBe(1);
  });

  it('stops accepting a key at its expiry even within the TTL', async () => {
    store.rows.set(hashApiKey(KEY), storedKey({ expiresAt: new Date(now + 5_000) }));
    expect(await cache.principal(KEY)).toBeDefined();
    store.rows.clear();
    now += 5_001;
    expect(await cache.principal(KEY)).toBeUndefined();
  });

  it('drops scopes it does not know from a stored key', async () => {
    store.rows.set(hashApiKey(KEY), storedKey({ scopes: ['recs:read', 'telepathy'] }));
    expect((await cache.principal(KEY))?.scopes).toEqual(['recs:read']);
  });

  it('passes store errors on instead of caching them', async () => {
    store.failing = true;
    await expect(cache.principal(KEY)).rejects.toThrow('connection refused');
    store.failing = false;
    expect(await cache.principal(KEY)).toBeDefined();
  });

  describe('while the store cannot be read (staleIfErrorMs)', () => {
    beforeEach(() => {
      cache = new ApiKeyCache(store, { ttlMs: 30_000, staleIfErrorMs: 600_000, now: clock });
    });

    it('keeps a key found before working, up to staleIfErrorMs past its TTL, and asks the store again each time', async () => {
      expect(await cache.principal(KEY)).toBeDefined();
      store.failing = true;
      now += 30_001 + 500_000;
      expect(await cache.principal(KEY)).toMatchObject({ id: 'simulator' });
      expect(cache.staleServed).toBe(1);
      now += 100_000; // past TTL + staleIfErrorMs
      await expect(cache.principal(KEY)).rejects.toThrow('connection refused');
      expect(store.lookups).toBe(3);
    });

    it('gives an unknown key the error, not a refusal, and never serves a key past its own expiry', async () => {
      const bad = 'pk_ffffffffffff_' + 'b'.repeat(43);
      expect(await cache.principal(bad)).toBeUndefined();
      store.rows.set(hashApiKey(KEY), storedKey({ expiresAt: new Date(now + 40_000) }));
      expect(await cache.principal(KEY)).toBeDefined();
      store.failing = true;
      now += 30_001;
      await expect(cache.principal(bad)).rejects.toThrow('connection refused');
      expect(await cache.principal(KEY)).toBeDefined();
      now += 10_000; // the key's own expiry passed
      await expect(cache.principal(KEY)).rejects.toThrow('connection refused');
    });

    it('is off by default: the error is passed on once the TTL is over', async () => {
      const strict = new ApiKeyCache(store, { ttlMs: 30_000, now: clock });
      expect(await strict.principal(KEY)).toBeDefined();
      store.failing = true;
      now += 30_001;
      await expect(strict.principal(KEY)).rejects.toThrow('connection refused');
    });
  });

  it('keeps at most maxEntries keys, forgetting the oldest', async () => {
    const small = new ApiKeyCache(store, { ttlMs: 30_000, maxEntries: 2, now: clock });
    for (const c of 'xyz') await small.principal(`pk_000000000000_${c.repeat(43)}`);
    expect(small.size).toBe(2);
  });
});
