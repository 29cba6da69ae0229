import type { ClientOptions } from 'cassandra-driver';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../config/load-config';
import { cassandraEnv, cassandraSettings, createCassandraClient } from './cassandra.client';

const schema = z.object(cassandraEnv);
const settingsOf = (vars: Record<string, string>) => cassandraSettings('svc', loadConfig('svc', schema, vars));
const problemsOf = (vars: Record<string, string>) => {
  try {
    settingsOf(vars);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('cassandra settings from the environment', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cassandra-settings-'));
    writeFileSync(join(dir, 'ca.pem'), 'CA');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('connects to the local node without a login or TLS by default', () => {
    expect(settingsOf({})).toEqual({
      contactPoints: ['127.0.0.1:29042'],
      localDataCenter: 'datacenter1',
      credentials: undefined,
      tls: undefined,
    });
  });

  it('logs in with the role and turns TLS on with a CA file (read at start)', () => {
    const settings = settingsOf({ CASSANDRA_USERNAME: 'pulse', CASSANDRA_PASSWORD: 's3cret', CASSANDRA_TLS_CA_FILE: join(dir, 'ca.pem') });
    expect(settings.credentials).toEqual({ username: 'pulse', password: 's3cret' });
    expect(settings.tls?.ca?.toString()).toBe('CA');
    expect(settingsOf({ CASSANDRA_TLS: 'true' }).tls).toEqual({ ca: undefined, cert: undefined, key: undefined });
  });

  it('names every half-configured or unreadable setting', () => {
    expect(
      problemsOf({
        CASSANDRA_USERNAME: 'pulse',
        CASSANDRA_TLS_CERT_FILE: join(dir, 'ca.pem'),
        CASSANDRA_TLS_CA_FILE: join(dir, 'nope.pem'),
      }),
    ).toEqual([
      { variable: 'CASSANDRA_PASSWORD', message: 'the login role and its password go together' },
      { variable: 'CASSANDRA_TLS_KEY_FILE', message: 'the client certificate and its key go together' },
      { variable: 'CASSANDRA_TLS_CA_FILE', message: `cannot read ${join(dir, 'nope.pem')}` },
    ]);
  });

  it('hands the login and TLS to the driver, verifying the server certificate', () => {
    const client = createCassandraClient({
      contactPoints: ['127.0.0.1:1'],
      localDataCenter: 'dc1',
      credentials: { username: 'pulse', password: 's3cret' },
      tls: { ca: Buffer.from('CA') },
    });
    // The driver keeps the options it was given on the client (not in its typings).
    const { options } = client as unknown as { options: ClientOptions };
    expect(options.authProvider?.constructor.name).toBe('PlainTextAuthProvider');
    expect(options.sslOptions).toMatchObject({ rejectUnauthorized: true });
  });
});
