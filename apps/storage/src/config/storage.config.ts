import { env, loadConfig } from '@pulse/platform';
import { z } from 'zod';

/** Every environment variable of the storage service; see apps/storage/.env.example. */
export const storageConfigSchema = z.object({
  SERVICE_NAME: env.string('storage'),
  LOG_LEVEL: env.logLevel(),
  GRPC_HOST: env.string('0.0.0.0'),
  GRPC_PORT: env.port(50053),
  HTTP_PORT: env.port(8083),
  KAFKA_BROKERS: env.hostList('127.0.0.1:29092'),
  CASSANDRA_CONTACT_POINTS: env.hostList('127.0.0.1:29042'),
  CASSANDRA_LOCAL_DC: env.string('datacenter1'),
  CASSANDRA_KEYSPACE: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'lowercase letters, digits and _, at most 48').default('pulse_storage'),
  /**
   * Keyspace replication: `SimpleStrategy:1` locally, `NetworkTopologyStrategy:dc1=3,dc2=3` in deployment.
   */
  CASSANDRA_REPLICATION: z
    .string()
    .default('SimpleStrategy:1')
    .refine((s) => /^SimpleStrategy:\d+$/.test(s) || /^NetworkTopologyStrategy:[\w-]+=\d+(,[\w-]+=\d+)*$/.test(s), {
      message: 'expected SimpleStrategy:<rf> or NetworkTopologyStrategy:<dc>=<rf>[,<dc>=<rf>...]',
    }),
  /** Apply pending CQL migrations at start (the `migrate` target does it otherwise). */
  STORAGE_AUTO_MIGRATE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** Consumer group of the activity writer (pulse.activity.tracked.v1 → activity_by_user). */
  STORAGE_ACTIVITY_GROUP: env.string('storage-activity'),
  /** Whether this replica runs the activity consumer. */
  STORAGE_ACTIVITY_CONSUMER: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** Whether this replica applies the app database's CDC topics (users, follows) to Cassandra. */
  STORAGE_CDC_CONSUMER: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** Consumer group of the CDC applier. */
  STORAGE_CDC_GROUP: env.string('storage-cdc'),
  /** PostgreSQL schema of the app tables; selects the topics pulse.cdc[.<schema>].<table>.v1. */
  STORAGE_CDC_SCHEMA: env.string('public'),
  /** Most users one user may follow (bounds following_by_user partitions). */
  STORAGE_MAX_FOLLOWING: env.int(7500, 1),
});

export type StorageConfig = z.infer<typeof storageConfigSchema>;

export const STORAGE_CONFIG = Symbol('STORAGE_CONFIG');

export function loadStorageConfig(overrides: Record<string, string | undefined> = {}): StorageConfig {
  return loadConfig('storage', storageConfigSchema, { ...process.env, ...overrides });
}
