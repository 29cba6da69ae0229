import { errorMessages, rejectionOf } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import type { storageV1 } from '@pulse/contracts';
import { dropKeyspace, startStorage, type StorageTestApp } from './storage-test-app';

// The stack's node requires a login (PasswordAuthenticator, CassandraAuthorizer) and accepts TLS on its native port
// with a certificate from the stack's CA (tools/stack/lib/cassandra.sh); `tools/stack/stack env` names the services'
// role and the CA.
const ca = process.env.STACK_CA_FILE ?? '';
const apps: StorageTestApp[] = [];

beforeAll(() => {
  if (!process.env.CASSANDRA_USERNAME || !process.env.CASSANDRA_PASSWORD || !ca)
    throw new Error('CASSANDRA_USERNAME / CASSANDRA_PASSWORD / STACK_CA_FILE are not set: eval "$(tools/stack/stack env)"');
});

afterAll(async () => {
  for (const app of apps) {
    await app.close();
    await dropKeyspace(app.keyspace);
  }
});

/** The messages of why storage refused to start with these settings. */
async function refusal(overrides: Record<string, string>): Promise<string> {
  return errorMessages(await rejectionOf(startStorage(overrides))).join('\n');
}

describe('storage on Cassandra with a login role and client encryption', () => {
  it('migrates its keyspace and serves profiles over TLS as the services role', async () => {
    const app = await startStorage({ CASSANDRA_TLS_CA_FILE: ca });
    apps.push(app);
    const userId = `u-${randomUUID().slice(0, 8)}`;
    await app.client.call('CreateProfile', { profile: { userId, handle: `h_${userId.slice(2)}`, displayName: 'Ada' } });
    const got = await app.client.call<storageV1.GetProfileResponse>('GetProfile', { userId });
    expect(got.profile?.displayName).toBe('Ada');
  }, 90_000);

  it('the node requires a login: without credentials storage refuses to start and says why', async () => {
    expect(await refusal({ CASSANDRA_USERNAME: '', CASSANDRA_PASSWORD: '' })).toMatch(/requires authentication/);
  }, 60_000);

  it('refuses a wrong password, and the default superuser cassandra/cassandra is gone', async () => {
    expect(await refusal({ CASSANDRA_PASSWORD: 'not-the-password' })).toMatch(/username pulse and\/or password are incorrect/);
    expect(await refusal({ CASSANDRA_USERNAME: 'cassandra', CASSANDRA_PASSWORD: 'cassandra' })).toMatch(
      /username cassandra and\/or password are incorrect/,
    );
  }, 60_000);

  it("verifies the node's certificate: TLS without the stack's CA is refused", async () => {
    expect(await refusal({ CASSANDRA_TLS: 'true' })).toMatch(/unable to verify the first certificate|self.signed/);
  }, 60_000);

  it('names a half-configured login or client certificate before connecting', async () => {
    expect(await refusal({ CASSANDRA_PASSWORD: '' })).toMatch(/CASSANDRA_PASSWORD: the login role and its password go together/);
    expect(await refusal({ CASSANDRA_TLS_CERT_FILE: ca })).toMatch(
      /CASSANDRA_TLS_KEY_FILE: the client certificate and its key go together/,
    );
  }, 60_000);
});
