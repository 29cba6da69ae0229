import { Rng } from '@pulse/platform';
import { type FollowGraph, generateFollowGraph } from './follow-graph.generator';
import { generatePeople, type Person } from './people.generator';
import { drawIndex, logNormal, WeightedSampler } from './sampling';
import { commentBody, postBody, postTags, postTopic } from './text.generator';

export interface SeedPost {
  author: number;
  cluster: number;
  tags: string[];
  body: string;
  /** How long before the seeding the post was published. */
  agoMs: number;
  likeCount: number;
}

export interface SeedComment {
  /** Index into `posts`. */
  post: number;
  author: number;
  body: string;
  agoMs: number;
}

/** The world as first written to the app database; everything in it follows from the seed and the sizes. */
export interface SeedWorld {
  seed: number;
  people: Person[];
  graph: FollowGraph;
  /** How long before the seeding each user joined. */
  joinedAgoMs: number[];
  /** How long before the seeding each follow was made (parallel to graph.edges). */
  followAgoMs: number[];
  posts: SeedPost[];
  comments: SeedComment[];
}

export interface WorldSize {
  seed: number;
  users: number;
  posts: number;
  /** The posts' created_at spread over this much past. */
  historyMs: number;
}

const DAY_MS = 86_400_000;

/**
 * Generates the seed world: people, their follow graph, posts by their authors' tastes and some comments. Each
 * part draws from its own sub-stream of the seed, so changing the number of posts leaves the people and the graph
 * as they were.
 */
export function generateWorld(size: WorldSize): SeedWorld {
  const root = new Rng(size.seed);
  const peopleRng = root.fork();
  const graphRng = root.fork();
  const postsRng = root.fork();
  const commentsRng = root.fork();
  const timeRng = root.fork();

  const people = generatePeople(peopleRng, size.users);
  const graph = generateFollowGraph(graphRng, people);
  const joinedAgoMs = people.map(() => size.historyMs + Math.round(timeRng.next() * 30 * DAY_MS));
  const followAgoMs = graph.edges.map(() => Math.round(timeRng.next() * size.historyMs));
  const followers = new Array<number>(people.length).fill(0);
  for (const [, followee] of graph.edges) followers[followee]++;

  const authors = new WeightedSampler(people.map((p) => p.activity));
  const posts: SeedPost[] = [];
  for (let i = 0; i < size.posts; i++) {
    const author = authors.draw(postsRng);
    const cluster = drawIndex(postsRng, people[author].taste);
    const topic = postTopic(postsRng, cluster);
    posts.push({
      author,
      cluster,
      tags: postTags(topic),
      body: postBody(postsRng, topic),
      agoMs: Math.round(postsRng.next() * size.historyMs),
      likeCount: Math.min(100_000, Math.floor(logNormal(postsRng, 0, 1) * (1 + 0.2 * followers[author]))),
    });
  }

  const comments: SeedComment[] = [];
  const followersOf: number[][] = people.map(() => []);
  for (const [follower, followee] of graph.edges) followersOf[followee].push(follower);
  for (let i = 0; posts.length > 0 && i < Math.round(posts.length * 0.6); i++) {
    const post = commentsRng.int(posts.length);
    const { author, cluster, agoMs } = posts[post];
    const audience = followersOf[author];
    const commenter = audience.length > 0 ? commentsRng.pick(audience) : commentsRng.int(people.length);
    comments.push({ post, author: commenter, body: commentBody(commentsRng, cluster), agoMs: Math.round(agoMs * commentsRng.next()) });
  }
  return { seed: size.seed, people, graph, joinedAgoMs, followAgoMs, posts, comments };
}
