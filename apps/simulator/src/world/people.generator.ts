import type { Rng } from '@pulse/platform';
import { drawIndex, pareto } from './sampling';
import { capitalize } from './text.generator';
import { CLUSTER_COUNT, TOPIC_CLUSTERS } from './topic-clusters';

/** A simulated user before it has a row: public profile plus the hidden taste and activity that drive it. */
export interface Person {
  /** Position in the world (join order), 0-based. */
  index: number;
  handle: string;
  displayName: string;
  email: string;
  bio: string;
  /** Interest per topic cluster, summing to 1, concentrated on 1–3 clusters. */
  taste: number[];
  /** The cluster of the largest taste. */
  mainCluster: number;
  /** Relative session frequency, heavy-tailed (Pareto), at least 1. */
  activity: number;
}

const FIRST_NAMES = [
  'maya',
  'liam',
  'noah',
  'emma',
  'olivia',
  'ava',
  'lucas',
  'mia',
  'ethan',
  'zoe',
  'amara',
  'kenji',
  'sofia',
  'mateo',
  'leila',
  'arjun',
  'nora',
  'felix',
  'ines',
  'omar',
  'hana',
  'diego',
  'clara',
  'yusuf',
  'elena',
  'tariq',
  'ingrid',
  'kofi',
  'lena',
  'ravi',
  'chloe',
  'marco',
  'aisha',
  'jonas',
  'priya',
  'oscar',
  'freya',
  'samir',
  'julia',
  'tomas',
];
const LAST_NAMES = [
  'chen',
  'garcia',
  'smith',
  'okafor',
  'novak',
  'silva',
  'tanaka',
  'muller',
  'haddad',
  'kowalski',
  'rossi',
  'nguyen',
  'johansson',
  'patel',
  'dubois',
  'moreau',
  'kim',
  'santos',
  'ali',
  'jensen',
  'costa',
  'ivanova',
  'mensah',
  'fischer',
  'herrera',
  'sato',
  'larsen',
  'bianchi',
  'khan',
  'walsh',
  'reyes',
  'nakamura',
  'osei',
  'lindqvist',
  'fernandez',
  'weber',
  'murphy',
  'yilmaz',
  'hughes',
  'abbas',
];

/**
 * `count` people, deterministic from `rng`. Clusters differ in popularity (a shuffled Zipf-like weight), so some
 * communities are larger than others; each person cares mostly about 1–3 clusters.
 */
export function generatePeople(rng: Rng, count: number): Person[] {
  const order = Array.from({ length: CLUSTER_COUNT }, (_, i) => i);
  rng.shuffle(order);
  const popularity = new Array<number>(CLUSTER_COUNT);
  order.forEach((cluster, rank) => (popularity[cluster] = 1 / Math.pow(rank + 1, 0.7)));
  const people: Person[] = [];
  for (let index = 0; index < count; index++) {
    const taste = generateTaste(rng, popularity);
    const mainCluster = taste.indexOf(Math.max(...taste));
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const favourite = [...TOPIC_CLUSTERS[mainCluster].subtopics];
    const a = favourite.splice(rng.int(favourite.length), 1)[0];
    const b = rng.pick(favourite);
    people.push({
      index,
      handle: `${first}_${last}_${index}`.slice(0, 30),
      displayName: `${capitalize(first)} ${capitalize(last)}`,
      email: `user${index}@sim.pulse.example`,
      bio: `Into ${a.replace(/-/g, ' ')} and ${b.replace(/-/g, ' ')}. Mostly posting about ${TOPIC_CLUSTERS[mainCluster].name.replace(/-/g, ' ')}.`,
      taste,
      mainCluster,
      activity: pareto(rng, 1.5, 100),
    });
  }
  return people;
}

/** 1–3 favourite clusters (drawn by popularity) share 85–95 % of the interest; the rest is a little noise. */
function generateTaste(rng: Rng, popularity: readonly number[]): number[] {
  const favourites = rng.chance(0.4) ? 1 : rng.chance(0.65) ? 2 : 3;
  const chosen = new Set<number>();
  while (chosen.size < favourites)
    chosen.add(
      drawIndex(
        rng,
        popularity.map((w, c) => (chosen.has(c) ? 0 : w)),
      ),
    );
  const taste = new Array<number>(CLUSTER_COUNT).fill(0);
  const focus = 0.85 + 0.1 * rng.next();
  const favouriteWeights = [...chosen].map(() => 0.3 + rng.next());
  const favouriteSum = favouriteWeights.reduce((s, w) => s + w, 0);
  [...chosen].forEach((c, i) => (taste[c] = (focus * favouriteWeights[i]) / favouriteSum));
  const noise = taste.map((t) => (t === 0 ? rng.next() : 0));
  const noiseSum = noise.reduce((s, w) => s + w, 0) || 1;
  return taste.map((t, c) => (t === 0 ? ((1 - focus) * noise[c]) / noiseSum : t));
}
