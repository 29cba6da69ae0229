import { Topics } from '@pulse/contracts';

/** The cdc service's own topics besides the per-table `cdcTopic`s (declared in the topic registry). */
export const CdcTopics = {
  schemaChanges: Topics.cdcSchemaChanges,
  heartbeat: Topics.cdcHeartbeat,
} as const;

export const CDC_STATIC_TOPICS = Object.values(CdcTopics);
