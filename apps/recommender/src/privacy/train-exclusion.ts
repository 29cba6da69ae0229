import { createLogger, ErasureList, LOCAL_SUBJECT_KEY, PlatformaticKafkaClient } from '@pulse/platform';
import type { Values } from '../cli/cli-flags';
import { withoutErasedUsers } from './erased-training-source';

/**
 * `recs train --exclude-erased <brokers> [--subject-key key]`: reads the erasure list (pulse.privacy.erasures.v1)
 * whole and trains on the source without its users. Without the flag, the source as given.
 */
export async function excludeErased(source: string, values: Values, log: (line: string) => void): Promise<string> {
  const brokers = values['exclude-erased'];
  if (!brokers) return source;
  const kafka = new PlatformaticKafkaClient({ brokers: brokers.split(','), clientId: 'recs-train' });
  try {
    const erased = await ErasureList.load(kafka, values['subject-key'] ?? LOCAL_SUBJECT_KEY, createLogger('recs', 'warn'));
    const filtered = await withoutErasedUsers(source, erased);
    log(`erasure list: ${erased.size} users; ${filtered.droppedRows} rows of erased users left out`);
    return filtered.source;
  } finally {
    await kafka.close();
  }
}
