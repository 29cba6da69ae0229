import { readMovieLens } from '../../data/readers';
import { leaveOneOut, writeNcf } from '../../data/split';
import { splitOptions } from '../cli-flags';
import type { Command, CommandContext } from '../command';

async function split({ values: v, arg, log }: CommandContext): Promise<number> {
  const data = await readMovieLens(arg());
  if (!v.out) throw new Error('split: --out <prefix> is required');
  const split = leaveOneOut(data, splitOptions(v));
  writeNcf(v.out, split);
  log(
    `wrote ${v.out}.train.rating (${split.train.users.length} rows), .test.rating, .test.negative (${split.testItem.filter((i) => i >= 0).length} users)`,
  );
  return 0;
}

export const splitCommand: Command = {
  name: 'split',
  usage: [
    'split <ratings> --out <prefix> [--negatives 99] [--seed 42]',
    '    leave-one-out split of a MovieLens file, written in the NCF format (<prefix>.train.rating, .test.rating, .test.negative)',
  ],
  flags: ['out', 'negatives', 'seed'],
  arg: '<ratings>',
  run: split,
};
