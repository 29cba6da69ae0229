import { writeSyntheticRatings } from '../../testing/synthetic';
import { writeSyntheticLake } from '../../testing/synthetic-lake';
import { num } from '../cli-flags';
import type { Command, CommandContext } from '../command';

async function synthetic({ values: v, log, config }: CommandContext): Promise<number> {
  if (v.lake) {
    const schema = v['cdc-schema'] ?? config().RECS_CDC_SCHEMA;
    await writeSyntheticLake(v.lake, schema, {
      seed: num(v.seed, 'seed'),
      users: num(v.users, 'users'),
      posts: num(v.items, 'items'),
      perUser: num(v['per-user'], 'per-user'),
    });
    log(`wrote bronze/activity and bronze/cdc/${schema}.posts under ${v.lake}`);
    return 0;
  }
  if (!v.out) throw new Error('synthetic: --out <ratings.csv> or --lake <dir> is required');
  writeSyntheticRatings(v.out, {
    seed: num(v.seed, 'seed'),
    users: num(v.users, 'users'),
    items: num(v.items, 'items'),
    perUser: num(v['per-user'], 'per-user'),
  });
  log(`wrote ${v.out}`);
  return 0;
}

export const syntheticCommand: Command = {
  name: 'synthetic',
  usage: [
    'synthetic --out <ratings.csv> [--users 120] [--items 240] [--per-user 20] [--seed 7]',
    '    write a MovieLens-format file with taste clusters (tests, demos, benchmarks without a download)',
    'synthetic --lake <dir> [--cdc-schema public] [--users 60] [--items 120] [--per-user 15] [--seed 11]',
    "    append taste-clustered activity and posts to a lake in etl's bronze layout, for `recs train --source lake`",
  ],
  flags: ['out', 'lake', 'cdc-schema', 'users', 'items', 'per-user', 'seed'],
  run: synthetic,
};
