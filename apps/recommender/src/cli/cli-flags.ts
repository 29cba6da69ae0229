import type { parseArgs } from 'node:util';
import type { NcfConfig } from '../models/ncf.config';

/** Every flag of the command line; each command lists the ones it takes. */
export const FLAGS = {
  out: { type: 'string' },
  negatives: { type: 'string' },
  seed: { type: 'string' },
  models: { type: 'string' },
  model: { type: 'string' },
  json: { type: 'boolean' },
  report: { type: 'string' },
  'full-rank': { type: 'boolean' },
  'models-dir': { type: 'string' },
  promote: { type: 'boolean' },
  grid: { type: 'string' },
  trials: { type: 'string' },
  reason: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  factors: { type: 'string' },
  layers: { type: 'string' },
  'negatives-train': { type: 'string' },
  l2: { type: 'string' },
  dropout: { type: 'string' },
  backend: { type: 'string' },
  'max-samples': { type: 'string' },
  split: { type: 'string' },
  users: { type: 'string' },
  items: { type: 'string' },
  'per-user': { type: 'string' },
  'item-metadata': { type: 'string' },
  'layers-steps': { type: 'string' },
  source: { type: 'string' },
  'lake-root': { type: 'string' },
  'cdc-schema': { type: 'string' },
  'as-of': { type: 'string' },
  'action-weights': { type: 'string' },
  'half-life': { type: 'string' },
  'min-weight': { type: 'string' },
  'min-interactions': { type: 'string' },
  'min-users': { type: 'string' },
  gate: { type: 'boolean' },
  'gate-metric': { type: 'string' },
  'gate-margin': { type: 'string' },
  lake: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type FlagName = keyof typeof FLAGS;

export type Values = ReturnType<typeof parseArgs<{ options: typeof FLAGS; allowPositionals: true }>>['values'];

/** The flags `trainingSettings` reads, and the TensorFlow.js backend: taken by every command that trains. */
export const TRAINING_FLAGS: readonly FlagName[] = [
  'epochs',
  'batch-size',
  'lr',
  'factors',
  'layers',
  'negatives-train',
  'l2',
  'dropout',
  'seed',
  'backend',
];

/** The flags of `recs train`: the data source (files or the lake), the gate, promotion and the training flags. */
export const TRAIN_FLAGS: readonly FlagName[] = [
  'model',
  'models-dir',
  'promote',
  'item-metadata',
  'negatives',
  'source',
  'lake-root',
  'cdc-schema',
  'as-of',
  'action-weights',
  'half-life',
  'min-weight',
  'min-interactions',
  'min-users',
  'gate',
  'gate-metric',
  'gate-margin',
  'json',
  ...TRAINING_FLAGS,
];

export const TRAINING_FLAGS_HELP = `training options: --epochs 20 --batch-size 256 --lr 0.001 --factors 8 --layers 64,32,16,8 --negatives-train 4
                  --l2 0 --dropout 0 --seed 42 --backend auto|tensorflow|wasm|cpu`;

export function num(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${value}"`);
  return n;
}

export function trainingSettings(v: Values): Partial<NcfConfig> {
  const s: Partial<NcfConfig> = {};
  const set = <K extends keyof NcfConfig>(key: K, value: NcfConfig[K] | undefined) => value !== undefined && (s[key] = value);
  set('epochs', num(v.epochs, 'epochs'));
  set('batchSize', num(v['batch-size'], 'batch-size'));
  set('learningRate', num(v.lr, 'lr'));
  set('factors', num(v.factors, 'factors'));
  set('negatives', num(v['negatives-train'], 'negatives-train'));
  set('l2', num(v.l2, 'l2'));
  set('dropout', num(v.dropout, 'dropout'));
  set('seed', num(v.seed, 'seed'));
  if (v.layers)
    set(
      'layers',
      v.layers.split(',').map((x) => num(x, 'layers') as number),
    );
  return s;
}

/** `--negatives` and `--seed` as `prepare` and `leaveOneOut` take them. */
export function splitOptions(v: Values): { negatives?: number; seed?: number } {
  return { negatives: num(v.negatives, 'negatives'), seed: num(v.seed, 'seed') };
}
