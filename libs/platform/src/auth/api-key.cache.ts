import { hashApiKey } from './api-key';
import type { ApiKeyLookup, StoredApiKey } from './api-key.pg.store';
import type { Principal } from './principal';
import { isScope } from './scopes';

export interface ApiKeyCacheOptions {
  /** How long an answer (a key found, or not found) is reused; a revocation takes effect within it. */
  ttlMs: number;
  /**
   * While the store cannot be read, a key found before keeps working this long past its TTL (HTTP's
   * stale-if-error): a database restart or failover does not lock every caller out. 0: never.
   */
  staleIfErrorMs?: number;
  /** Most keys remembered; the oldest answers go first. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  principal: Principal | undefined;
  expiresAt: number;
  /** The key's own expiry (never passed, stale or not); Infinity for a key without one. */
  keyExpiresAt: number;
}

/** The principal of an active stored key (unknown scopes in the row are dropped). */
export function principalOfKey(key: StoredApiKey): Principal {
  return { id: key.name, kind: 'api-key', keyId: key.keyId, scopes: key.scopes.filter(isScope) };
}

/**
 * API key → principal with a short cache in front of the store, by the key's hash (never the key): one
 * lookup per key and TTL whatever the call rate, one in flight per key, unknown keys remembered as well (so a
 * flood of bad keys does not reach PostgreSQL). A key revoked in the store stops working within the TTL; a
 * key that expires stops at once. While the store cannot be read, a key found before is served stale for up to
 * `staleIfErrorMs` past its TTL; an unknown key gets the store's error (UNAVAILABLE: try again), not a refusal.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Principal | undefined>>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly store: ApiKeyLookup,
    private readonly options: ApiKeyCacheOptions,
  ) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** The principal of an active key, undefined for an unknown, revoked or expired one; store errors propagate. */
  async principal(key: string): Promise<Principal | undefined> {
    const hash = hashApiKey(key);
    const cached = this.entries.get(hash);
    if (cached && cached.expiresAt > this.now()) return cached.principal;
    const pending = this.inFlight.get(hash);
    if (pending) return pending;
    const lookup = this.lookup(hash)
      .catch((error: unknown) => {
        const stale = this.entries.get(hash);
        const now = this.now();
        if (stale?.principal && now < stale.keyExpiresAt && now - stale.expiresAt < (this.options.staleIfErrorMs ?? 0)) {
          this.staleServed++;
          return stale.principal;
        }
        throw error;
      })
      .finally(() => this.inFlight.delete(hash));
    this.inFlight.set(hash, lookup);
    return lookup;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Answers given from an expired entry because the store could not be read. */
  staleServed = 0;

  private async lookup(hash: string): Promise<Principal | undefined> {
    const stored = await this.store.findActiveByHash(hash);
    const now = this.now();
    const keyExpiresAt = stored?.expiresAt ? stored.expiresAt.getTime() : Number.POSITIVE_INFINITY;
    const expiresAt = Math.min(now + this.options.ttlMs, keyExpiresAt);
    const principal = stored && principalOfKey(stored);
    this.entries.delete(hash);
    this.entries.set(hash, { principal, expiresAt, keyExpiresAt });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return principal;
  }
}
