import type { Rng } from '@pulse/platform';
import { TOPIC_CLUSTERS, type TopicCluster } from './topic-clusters';

/** What a post is about: its cluster and 1–3 of the cluster's subtopics (its `tags` are `[cluster, ...subtopics]`). */
export interface PostTopic {
  cluster: number;
  subtopics: string[];
}

type Words = {
  noun: string;
  noun2: string;
  verb: string;
  adj: string;
  topic: string;
  tip: string;
};

const POST_SENTENCES: readonly ((w: Words) => string)[] = [
  (w) => `Just ${w.verb} ${article(w.noun)} and it turned out ${w.adj}.`,
  (w) => `${capitalize(w.adj)} ${w.noun} today, probably my best one so far.`,
  (w) => `Anyone else into ${w.topic}? I am looking for advice on ${article(w.noun)}.`,
  (w) => `Tip for ${w.topic}: ${w.tip}.`,
  (w) => `Hot take: the ${w.noun} matters more than the ${w.noun2}.`,
  (w) => `Spent the weekend on ${w.topic}, and the ${w.noun} was ${w.adj}.`,
  (w) => `Still thinking about that ${w.adj} ${w.noun}.`,
  (w) => `Question for the ${w.topic} crowd: ${w.noun} or ${w.noun2}?`,
  (w) => `${capitalize(w.verb)} ${article(w.noun)} with ${article(w.noun2)} this morning.`,
  (w) => `Learned the hard way that you should ${w.tip}.`,
  (w) => `Nothing beats ${article(w.adj)} ${w.noun} after a long week.`,
  (w) => `My ${w.topic} journey continues: today I ${w.verb} ${article(w.noun)}.`,
];

const COMMENT_SENTENCES: readonly ((w: Words) => string)[] = [
  (w) => `Love this ${w.noun}!`,
  (w) => `So ${w.adj}, thanks for sharing.`,
  (w) => `Great point about ${w.topic}.`,
  (w) => `I ${w.verb} ${article(w.noun)} last week too.`,
  (w) => `Which ${w.noun} did you use?`,
  (w) => `Totally agree, ${w.tip}.`,
  (w) => `The ${w.noun2} looks ${w.adj} as well.`,
  (w) => `Saving this for my next ${w.topic} day.`,
];

/** Picks what a post of a cluster is about. */
export function postTopic(rng: Rng, cluster: number): PostTopic {
  const all = [...TOPIC_CLUSTERS[cluster].subtopics];
  const n = 1 + rng.int(3);
  const subtopics: string[] = [];
  for (let i = 0; i < n; i++) subtopics.push(all.splice(rng.int(all.length), 1)[0]);
  return { cluster, subtopics };
}

/** `posts.tags`: the cluster's name first, then the subtopics. */
export function postTags(topic: PostTopic): string[] {
  return [TOPIC_CLUSTERS[topic.cluster].name, ...topic.subtopics];
}

/** A post body: 2–4 templated sentences from the cluster's words, then its subtopics as hashtags. */
export function postBody(rng: Rng, topic: PostTopic): string {
  const sentences = 2 + rng.int(3);
  const parts: string[] = [];
  for (let i = 0; i < sentences; i++) parts.push(rng.pick(POST_SENTENCES)(words(rng, TOPIC_CLUSTERS[topic.cluster], topic.subtopics)));
  return `${parts.join(' ')} ${topic.subtopics.map((s) => `#${s.replace(/-/g, '')}`).join(' ')}`;
}

/** A comment on a post of the cluster: one or two short sentences. */
export function commentBody(rng: Rng, cluster: number): string {
  const c = TOPIC_CLUSTERS[cluster];
  const n = 1 + rng.int(2);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(rng.pick(COMMENT_SENTENCES)(words(rng, c, c.subtopics)));
  return parts.join(' ');
}

function words(rng: Rng, c: TopicCluster, subtopics: readonly string[]): Words {
  const noun = rng.pick(c.nouns);
  let noun2 = rng.pick(c.nouns);
  if (noun2 === noun) noun2 = c.nouns[(c.nouns.indexOf(noun) + 1) % c.nouns.length];
  return {
    noun,
    noun2,
    verb: rng.pick(c.verbs),
    adj: rng.pick(c.adjectives),
    topic: rng.pick(subtopics).replace(/-/g, ' '),
    tip: rng.pick(c.tips),
  };
}

function article(phrase: string): string {
  return `${/^[aeiou]/i.test(phrase) ? 'an' : 'a'} ${phrase}`;
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
