import { Codec } from './codecs';

/** One Kafka topic of the platform: its name, layout, retention and the codecs of its records. */
export interface TopicDefinition<K = unknown, V = unknown> {
  /** `pulse.<entity>.<event>.v<N>`. */
  readonly name: string;
  /** Partitions at creation; keys hash with Kafka's Java murmur2 partitioner, so order is per key. */
  readonly partitions: number;
  /** Topic-level configs passed at creation (`retention.ms`, `cleanup.policy`, ...). */
  readonly config: Readonly<Record<string, string>>;
  readonly key: Codec<K>;
  readonly value: Codec<V>;
  /** One sentence: what a record on this topic means and who writes it. */
  readonly description: string;
}

export const DAY_MS = 86_400_000;

export const TOPIC_NAME_PATTERN = /^pulse\.[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.v[1-9][0-9]*$/;

export function defineTopic<K, V>(def: TopicDefinition<K, V>): TopicDefinition<K, V> {
  if (!TOPIC_NAME_PATTERN.test(def.name)) {
    throw new Error(`topic name "${def.name}" does not follow pulse.<entity>.<event>.v<N>`);
  }
  if (!Number.isInteger(def.partitions) || def.partitions < 1) {
    throw new Error(`topic "${def.name}" needs a positive partition count`);
  }
  return def;
}
