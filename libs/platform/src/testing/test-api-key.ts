import { PgApiKeyStore } from '../auth/api-key.pg.store';
import type { Scope } from '../auth/scopes';

export interface TestApiKey {
  /** The key to send (`grpcClient(..., { credentials: key.key })`). */
  key: string;
  keyId: string;
  /** The principal id of its calls. */
  name: string;
  /** Deletes the key again. */
  remove(): Promise<void>;
}

/**
 * Issues an API key for a test into the key store the services read (by default the local stack's `pulse_auth`,
 * migrated first), named `test-<label>-<random>` so that runs never collide; `remove()` deletes it afterwards.
 */
export async function issueTestApiKey(
  options: { scopes?: readonly Scope[]; label?: string; pgUrl?: string; schema?: string } = {},
): Promise<TestApiKey> {
  const store = new PgApiKeyStore({
    pgUrl: options.pgUrl ?? 'postgres://pulse:pulse@127.0.0.1:25432/pulse',
    schema: options.schema,
    applicationName: 'pulse-test-keys',
    maxConnections: 1,
  });
  try {
    await store.migrate();
    const name = `test-${options.label ?? 'client'}-${Math.random().toString(36).slice(2, 10)}`;
    const { key, record } = await store.issue({ name, scopes: options.scopes ?? ['admin'] });
    return { key, keyId: record.keyId, name, remove: () => store.delete(record.keyId).finally(() => store.close()) };
  } catch (error) {
    await store.close();
    throw error;
  }
}
