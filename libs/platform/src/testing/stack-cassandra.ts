import type { Client } from 'cassandra-driver';
import { z } from 'zod';
import { cassandraEnv, cassandraSettings, createCassandraClient } from '../cassandra/cassandra.client';
import { loadConfig } from '../config/load-config';

/**
 * A session on the stack's Cassandra as the services reach it (CASSANDRA_* of `tools/stack/stack env`: the login
 * role, TLS), optionally on a keyspace; `overrides` replace variables (another role, no credentials).
 */
export function stackCassandraClient(options: { keyspace?: string; overrides?: Record<string, string> } = {}): Client {
  const config = loadConfig('test', z.object(cassandraEnv), { ...process.env, ...options.overrides });
  return createCassandraClient(cassandraSettings('test', config), options.keyspace);
}
