import { validationSplit } from '../../data/split';
import { evaluateSampled } from '../../eval/metrics';
import { type ModelSpec, parseModelList, prepare, specLabel, trainModel } from '../../eval/experiment';
import { trainingData } from '../../models/model';
import { MODEL_DEFAULTS, type ModelSettings } from '../../models/model-factory';
import { num, splitOptions, TRAINING_FLAGS, trainingSettings } from '../cli-flags';
import type { Command, CommandContext } from '../command';

async function search({ values: v, arg, log }: CommandContext): Promise<number> {
  if (!v.model) throw new Error('search: --model is required');
  const [spec] = parseModelList(v.model);
  const data = await prepare(arg(), splitOptions(v));
  const validation = validationSplit(data.trainInteractions, { seed: num(v.seed, 'seed') });
  const grid = parseGrid(v.grid ?? 'factors=8,16,32;learningRate=0.001,0.005', Object.keys(MODEL_DEFAULTS[spec.name]));
  let candidates = cartesian(grid);
  const trials = num(v.trials, 'trials');
  if (trials !== undefined) {
    const seed = num(v.seed, 'seed') ?? 42;
    candidates = candidates
      .map((c, k) => ({ c, key: Math.sin(seed * 9301 + k * 49297) }))
      .sort((a, b) => a.key - b.key)
      .slice(0, trials)
      .map((x) => x.c);
  }
  const base = trainingSettings(v);
  const validTrain = trainingData(validation.train);
  let best: { settings: ModelSettings; hr: number; ndcg: number } | undefined;
  const started = performance.now();
  for (const candidate of candidates) {
    const settings = { ...base, ...candidate };
    const t = performance.now();
    const { model } = await trainModel(spec as ModelSpec, validTrain, {}, settings);
    const m = evaluateSampled(model, validation);
    model.dispose();
    const seconds = Math.round((performance.now() - t) / 100) / 10;
    process.stdout.write(
      `${JSON.stringify({ model: specLabel(spec), ...candidate, 'val_hr@10': m.hr, 'val_ndcg@10': m.ndcg, seconds })}\n`,
    );
    if (!best || m.hr > best.hr) best = { settings: candidate, hr: m.hr, ndcg: m.ndcg };
  }
  const budget = { trials: candidates.length, seconds: Math.round((performance.now() - started) / 1000) };
  log(`best on the validation hold-out (${budget.trials} trials, ${budget.seconds} s): ${JSON.stringify(best)}`);
  return 0;
}

/**
 * `factors=8,16;learningRate=0.001,0.005` → { factors: [8, 16], learningRate: [0.001, 0.005] }; `keys` are the
 * model's settings (its defaults' keys), by default the NCF models'.
 */
export function parseGrid(text: string, keys: string[] = Object.keys(MODEL_DEFAULTS.neumf)): Record<string, number[]> {
  const grid: Record<string, number[]> = {};
  for (const part of text.split(';').filter(Boolean)) {
    const [key, values] = part.split('=');
    if (!key || !values || !keys.includes(key.trim())) throw new Error(`--grid: bad entry "${part}" (keys: ${keys.join(', ')})`);
    grid[key.trim()] = values.split(',').map((x) => num(x, 'grid') as number);
  }
  return grid;
}

function cartesian(grid: Record<string, number[]>): ModelSettings[] {
  let out: Record<string, number>[] = [{}];
  for (const [key, values] of Object.entries(grid)) out = out.flatMap((o) => values.map((v) => ({ ...o, [key]: v })));
  return out as ModelSettings[];
}

export const searchCommand: Command = {
  name: 'search',
  usage: [
    'search <source> --model <name> [--grid "factors=8,16;learningRate=0.001,0.005"] [--trials n]',
    '    hyperparameter search (grid, or n random picks from it) on a validation hold-out of the training part;',
    "    grid keys are the model's settings (e.g. ease: l2; ials: factors, l2, unobservedWeight, epochs; sasrec: maxLen, dropout)",
  ],
  flags: ['model', 'grid', 'trials', 'negatives', ...TRAINING_FLAGS],
  arg: '<source>',
  tf: true,
  run: search,
};
