import { Topics } from '@pulse/contracts';
import { kafkaErrorMessage, PlatformaticKafkaClient } from '@pulse/platform';
import { type Promotion, publishPromotion } from '../registry/promotion-event';

/** How long the command line waits for Kafka before it gives up on the event (the promotion stands). */
const SEND_TIMEOUT_MS = 5000;

function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Publishes a promotion made by the command line on pulse.recs.model.v1 (KAFKA_BROKERS), so serving replicas
 * reload at once; says whether it was sent. Kafka being unreachable does not undo the promotion: the replicas
 * then find it by polling the registry (RECS_REGISTRY_POLL).
 */
export async function announcePromotion(brokers: string[], promotion: Promotion, log: (line: string) => void): Promise<boolean> {
  const kafka = new PlatformaticKafkaClient({ brokers, clientId: 'recs-cli', requestTimeoutMs: 3000 });
  try {
    await within(
      SEND_TIMEOUT_MS,
      kafka.admin.ensureTopics([Topics.recsModel]).then(() => publishPromotion(kafka.producer, promotion)),
    );
    log(`sent ModelPromoted (${promotion.version}) on ${Topics.recsModel.name}: serving replicas reload now`);
    return true;
  } catch (error) {
    log(
      `the promotion event was not sent to ${brokers.join(',')} (${kafkaErrorMessage(error)}); ` +
        `the promotion stands, serving replicas pick it up by polling the registry (RECS_REGISTRY_POLL)`,
    );
    return false;
  } finally {
    await within(2000, kafka.close()).catch(() => undefined);
  }
}
