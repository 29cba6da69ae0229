import { parseDuration } from '@pulse/platform';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recommenderConfigSchema } from '../../config/recommender.config';
import { parseModelList } from '../../eval/experiment';
import { evaluateLoop, loopEvaluationTable } from '../../eval/loop-evaluation';
import { syntheticPlatform } from '../../testing/synthetic-platform';
import { num, TRAINING_FLAGS, trainingSettings } from '../cli-flags';
import type { Command, CommandContext } from '../command';
import { LAKE_DEFAULTS } from './train.command';

const DAY_MS = 86_400_000;

function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  const n = num(value, flag) ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got "${value}"`);
  return n;
}

async function evaluateLoopRun(ctx: CommandContext): Promise<number> {
  const { values: v, log } = ctx;
  const days = positiveInt(v.days, 'days', 14);
  const splitDay = positiveInt(v['split-day'], 'split-day', days - 2);
  if (splitDay >= days) throw new Error(`--split-day must be before the last day (${days}), got ${splitDay}`);
  const [spec] = parseModelList(v.model ?? 'gmf');
  const seed = num(v.seed, 'seed') ?? 17;
  const world = syntheticPlatform({ users: positiveInt(v.users, 'users', 300), days, seed });
  // The service's settings (RECS_RANK_WEIGHTS, RECS_FOLD_IN_*, windows, RECS_ACTION_WEIGHTS) over its defaults.
  const config = { ...recommenderConfigSchema.parse({}), ...ctx.config() };
  const workDir = v.out ?? mkdtempSync(join(tmpdir(), 'pulse-recs-loop-'));
  log(
    `simulated platform (seed ${seed}): ${world.posts.length} posts, ${world.follows.length} follows, ${world.activity.length} events ` +
      `over ${days} days; training on the first ${splitDay}, lake and registry in ${workDir}`,
  );
  try {
    const evaluation = await evaluateLoop(world, {
      spec,
      settings: { seed: 42, ...trainingSettings(v) },
      splitAtMs: world.startMs + splitDay * DAY_MS,
      freshActions: num(v.fresh, 'fresh') ?? 3,
      freshWindowMs: DAY_MS,
      k: 10,
      workDir,
      config,
      halfLifeMs: parseDuration(LAKE_DEFAULTS.halfLife) ?? 0,
      log,
    });
    process.stdout.write(`${JSON.stringify({ ...evaluation, seed, days, split_day: splitDay })}\n`);
    log(loopEvaluationTable(evaluation));
    return 0;
  } finally {
    if (!v.out) rmSync(workDir, { recursive: true, force: true });
  }
}

export const evaluateLoopCommand: Command = {
  name: 'evaluate-loop',
  usage: [
    'evaluate-loop [--users 300] [--days 14] [--split-day 12] [--fresh 3] [--seed 17] [--model gmf] [--out dir]',
    '    simulate a platform (taste clusters, follows, posts every day), train on the days before --split-day from',
    "    a lake, and score HR@10/NDCG@10 of each user's next post after it: ItemPop, the model alone, and the",
    '    Recommend pipeline (fold-in of the --fresh actions before it, following, content, trending, ranker,',
    '    filters) with and without the fresh actions and the follow graph; one JSON line, a table on stderr',
  ],
  flags: ['users', 'days', 'split-day', 'fresh', 'model', 'out', ...TRAINING_FLAGS],
  tf: true,
  run: evaluateLoopRun,
};
