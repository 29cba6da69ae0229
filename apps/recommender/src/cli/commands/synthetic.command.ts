import { writeSyntheticRatings } from '../../testing/synthetic';
import { num } from '../cli-flags';
import type { Command, CommandContext } from '../command';

async function synthetic({ values: v, log }: CommandContext): Promise<number> {
  if (!v.out) throw new Error('synthetic: --out <ratings.csv> is required');
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
  ],
  flags: ['out', 'users', 'items', 'per-user', 'seed'],
  run: synthetic,
};
