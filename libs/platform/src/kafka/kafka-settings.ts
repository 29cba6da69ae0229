import { z } from 'zod';
import { readClientTlsFiles } from '../config/client-tls';
import { ConfigError, env } from '../config/load-config';
import type { KafkaSettings } from './kafka.types';

/**
 * The Kafka variables of every service with a KafkaModule, spread into its config schema: where the brokers
 * are, how durable the topics it creates are, and how long a record may take to become durable.
 * Locally one broker: replication factor 1, min.insync.replicas 1. In a cluster (the Helm chart's defaults)
 * RF 3 and min ISR 2 with acks=all: a write is acknowledged once two replicas have it, and one broker may be
 * lost without losing an acknowledged record or refusing writes (Kafka's documented guarantee).
 */
export const kafkaEnv = {
  KAFKA_BROKERS: env.hostList('127.0.0.1:29092'),
  /** Replication factor of the topics the service creates (existing topics are left as they are). */
  KAFKA_REPLICATION_FACTOR: env.int(1, 1, 16),
  /** `min.insync.replicas` of the topics the service creates: with acks=all, replicas that must hold a write. */
  KAFKA_MIN_INSYNC_REPLICAS: env.int(1, 1, 16),
  /**
   * How long the producer retries a record that could not be made durable (leader moved, broker down, too few
   * in-sync replicas) before failing the send: Java's `delivery.timeout.ms`, 2 minutes by default.
   */
  KAFKA_DELIVERY_TIMEOUT: env.duration('2m'),
  /** SASL mechanism towards the brokers (a SASL_SSL or SASL_PLAINTEXT listener); empty: no SASL. */
  KAFKA_SASL_MECHANISM: z.enum(['', 'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']).default(''),
  KAFKA_SASL_USERNAME: z.string().default(''),
  KAFKA_SASL_PASSWORD: z.string().default(''),
  /** TLS towards the brokers; `true` is implied by KAFKA_TLS_CA_FILE. */
  KAFKA_TLS: env.bool(false),
  /** CA bundle (PEM) the brokers' certificates chain to; empty: the system's CAs. */
  KAFKA_TLS_CA_FILE: z.string().default(''),
  /** Client certificate and key (PEM) for brokers requiring TLS client authentication (`ssl.client.auth=required`). */
  KAFKA_TLS_CERT_FILE: z.string().default(''),
  KAFKA_TLS_KEY_FILE: z.string().default(''),
};

type KafkaEnv = z.infer<z.ZodObject<typeof kafkaEnv>>;
export type KafkaSecurityEnv = Pick<
  KafkaEnv,
  | 'KAFKA_SASL_MECHANISM'
  | 'KAFKA_SASL_USERNAME'
  | 'KAFKA_SASL_PASSWORD'
  | 'KAFKA_TLS'
  | 'KAFKA_TLS_CA_FILE'
  | 'KAFKA_TLS_CERT_FILE'
  | 'KAFKA_TLS_KEY_FILE'
>;

/**
 * The client settings of a service from its parsed config (`kafkaEnv` fields and its SERVICE_NAME). Security
 * settings that cannot work (a mechanism without a user, an unreadable file) are refused here, naming the variable.
 */
export function kafkaSettings(config: KafkaEnv & { SERVICE_NAME: string }): KafkaSettings {
  return {
    brokers: config.KAFKA_BROKERS,
    clientId: config.SERVICE_NAME,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR,
    minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS,
    deliveryTimeoutMs: config.KAFKA_DELIVERY_TIMEOUT,
    ...kafkaSecurity(config.SERVICE_NAME, config),
  };
}

/** SASL and TLS of a Kafka client from KAFKA_SASL_* / KAFKA_TLS_* (also used by clients outside a KafkaModule). */
export function kafkaSecurity(service: string, config: Partial<KafkaSecurityEnv>): Pick<KafkaSettings, 'sasl' | 'tls'> {
  const problems: { variable: string; message: string }[] = [];
  const mechanism = config.KAFKA_SASL_MECHANISM || undefined;
  if (mechanism && (!config.KAFKA_SASL_USERNAME || !config.KAFKA_SASL_PASSWORD))
    problems.push({ variable: 'KAFKA_SASL_MECHANISM', message: `${mechanism} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD` });
  if (!mechanism && config.KAFKA_SASL_USERNAME)
    problems.push({
      variable: 'KAFKA_SASL_MECHANISM',
      message: 'KAFKA_SASL_USERNAME is set: name the mechanism (SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN)',
    });
  const { ca, cert, key } = readClientTlsFiles('KAFKA', config, problems);
  if (problems.length > 0) throw new ConfigError(service, problems);
  const tlsOn = config.KAFKA_TLS || ca !== undefined || cert !== undefined;
  return {
    sasl: mechanism ? { mechanism, username: config.KAFKA_SASL_USERNAME!, password: config.KAFKA_SASL_PASSWORD! } : undefined,
    tls: tlsOn ? { ca, cert, key } : undefined,
  };
}

/**
 * The replication factor and configs a topic is created with: the settings' RF and min ISR, which win over
 * a topic's own `min.insync.replicas`. A min ISR above the RF would refuse every acks=all write: refused here.
 */
export function topicDurability(
  settings: Pick<KafkaSettings, 'replicationFactor' | 'minInsyncReplicas'>,
  config: Readonly<Record<string, string>>,
): { replicas: number; configs: Record<string, string> } {
  const replicas = settings.replicationFactor ?? -1;
  const configs = { ...config };
  if (settings.minInsyncReplicas !== undefined) configs['min.insync.replicas'] = String(settings.minInsyncReplicas);
  const minIsr = Number(configs['min.insync.replicas'] ?? 1);
  if (replicas > 0 && minIsr > replicas) {
    throw new Error(
      `min.insync.replicas ${minIsr} is above the replication factor ${replicas}: every acks=all write would be refused (KAFKA_MIN_INSYNC_REPLICAS <= KAFKA_REPLICATION_FACTOR)`,
    );
  }
  return { replicas, configs };
}

/**
 * The producer's retries within the delivery timeout: a back-off of 100 ms doubling to 1 s (Java's
 * retry.backoff.ms to retry.backoff.max.ms), as many attempts as fit in the timeout.
 */
export function deliveryRetries(deliveryTimeoutMs: number): { retries: number; retryDelay: (attempt: number) => number } {
  const retryDelay = (attempt: number) => Math.min(1_000, 100 * 2 ** Math.max(0, attempt - 1));
  let retries = 0;
  for (let spent = 0; spent + retryDelay(retries + 1) <= deliveryTimeoutMs; retries++) spent += retryDelay(retries + 1);
  return { retries: Math.max(1, retries), retryDelay };
}
