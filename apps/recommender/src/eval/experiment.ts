import { existsSync } from 'node:fs';
import type { Interactions } from '../data/interactions';
import { fingerprint } from '../data/interactions';
import { type NcfDataset, readMovieLens, readNcf } from '../data/readers';
import { kFold, leaveOneOut, percentageSplit } from '../data/split';
import { ItemKnnModel } from '../models/item-knn.model';
import { ItemPopModel } from '../models/item-pop.model';
import { type FitHooks, type FitResult, type ModelName, type Recommender, type TrainingData, trainingData } from '../models/model';
import { type NcfConfig, ncfConfig, NcfModel } from '../models/ncf.model';
import { tfLoaded } from '../tf/tf-backend';
import { evaluateFullRank, evaluateSampled, type FullRankMetrics, type SampledMetrics } from './metrics';

/** A model to run: one of the six, NeuMF optionally from pre-trained GMF and MLP. */
export interface ModelSpec {
  name: ModelName;
  pretrain?: boolean;
  overrides?: Partial<NcfConfig>;
}

export function specLabel(spec: ModelSpec): string {
  return spec.name === 'neumf' && spec.pretrain ? 'neumf-pretrained' : spec.name;
}

/** Parses `itempop,itemknn,mf,gmf,mlp,neumf,neumf-pretrained` (or `all`). */
export function parseModelList(text: string): ModelSpec[] {
  const names =
    text === 'all'
      ? ['itempop', 'itemknn', 'mf', 'gmf', 'mlp', 'neumf', 'neumf-pretrained']
      : text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  return names.map((name) => {
    if (name === 'neumf-pretrained') return { name: 'neumf', pretrain: true };
    if (!['itempop', 'itemknn', 'mf', 'gmf', 'mlp', 'neumf'].includes(name))
      throw new Error(`unknown model "${name}" (itempop, itemknn, mf, gmf, mlp, neumf, neumf-pretrained)`);
    return { name: name as ModelName };
  });
}

/** A dataset prepared for the 1 + N protocol. */
export interface PreparedData {
  source: string;
  split: NcfDataset;
  train: TrainingData;
  trainInteractions: Interactions;
  fingerprint: string;
  /** Latest training timestamp (seconds), 0 when unknown. */
  cutoff: number;
  /** `leave-one-out` (1 + N sampled metrics and full-rank on the held-out item) or a percentage split (full-rank only). */
  protocol: 'leave-one-out' | 'temporal' | 'random' | 'fold';
  /** Held-out items per user, the relevant set of the full-rank metrics. */
  heldOut: Map<number, Set<number>>;
  /** The held-out interactions with their ratings (MAE/RMSE when the ratings are explicit). */
  heldOutRatings: { users: number[]; items: number[]; ratings: number[] };
}

/** How `evaluate` splits a MovieLens file: leave-one-out (default), a temporal or random percentage, or k folds. */
export type SplitSpec = { mode: 'leave-one-out' } | { mode: 'temporal' | 'random'; testFraction: number } | { mode: 'kfold'; k: number };

/** Parses `loo`, `temporal:0.2`, `random:0.2` or `kfold:5`. */
export function parseSplit(text: string): SplitSpec {
  const [mode, arg] = text.split(':');
  if (mode === 'loo' || mode === 'leave-one-out') return { mode: 'leave-one-out' };
  const value = Number(arg);
  if ((mode === 'temporal' || mode === 'random') && value > 0 && value < 1) return { mode, testFraction: value };
  if (mode === 'kfold' && Number.isInteger(value) && value >= 2) return { mode: 'kfold', k: value };
  throw new Error(`--split: expected loo, temporal:<fraction>, random:<fraction> or kfold:<k>, got "${text}"`);
}

function fromTrainTest(source: string, train: Interactions, test: Interactions, protocol: PreparedData['protocol']): PreparedData {
  const numUsers = train.userIds.size;
  const split: NcfDataset = {
    train,
    testItem: new Int32Array(numUsers).fill(-1),
    negatives: Array.from({ length: numUsers }, () => new Int32Array(0)),
  };
  const heldOut = new Map<number, Set<number>>();
  for (let r = 0; r < test.users.length; r++) {
    const u = test.users[r];
    if (!heldOut.has(u)) heldOut.set(u, new Set());
    heldOut.get(u)?.add(test.items[r]);
  }
  const heldOutRatings = { users: Array.from(test.users), items: Array.from(test.items), ratings: Array.from(test.ratings) };
  return prepared(source, split, protocol, heldOut, heldOutRatings);
}

/** The training side of `split` (model input, fingerprint, cutoff) beside its held-out part. */
function prepared(
  source: string,
  split: NcfDataset,
  protocol: PreparedData['protocol'],
  heldOut: PreparedData['heldOut'],
  heldOutRatings: PreparedData['heldOutRatings'],
): PreparedData {
  let cutoff = 0;
  for (const t of split.train.timestamps) if (t > cutoff) cutoff = t;
  return {
    source,
    split,
    train: trainingData(split.train),
    trainInteractions: split.train,
    fingerprint: fingerprint(split.train),
    cutoff,
    protocol,
    heldOut,
    heldOutRatings,
  };
}

/** The train/test pairs of a percentage split or of k folds of a MovieLens file (full-rank evaluation). */
export async function prepareSplits(source: string, spec: SplitSpec, seed = 42): Promise<PreparedData[]> {
  if (spec.mode === 'leave-one-out') return [await prepare(source, { seed })];
  const data = await readMovieLens(source);
  if (spec.mode === 'kfold') return kFold(data, spec.k, seed).map((f) => fromTrainTest(source, f.train, f.test, 'fold'));
  const { train, test } = percentageSplit(data, { testFraction: spec.testFraction, mode: spec.mode, seed });
  return [fromTrainTest(source, train, test, spec.mode)];
}

/**
 * Reads `source`: an NCF file triple by prefix (its split as given) or a MovieLens ratings file (split
 * leave-one-out by latest timestamp with `negatives` seeded negatives per user).
 */
export async function prepare(source: string, options: { negatives?: number; seed?: number } = {}): Promise<PreparedData> {
  if (existsSync(`${source}.train.rating`)) return preparedSplit(source, await readNcf(source));
  return prepareInteractions(source, await readMovieLens(source), options);
}

/**
 * Interactions read elsewhere (the lake) split for the 1 + N protocol: each user's latest interaction held
 * out with `negatives` seeded negatives, as `prepare` splits a MovieLens file.
 */
export function prepareInteractions(source: string, data: Interactions, options: { negatives?: number; seed?: number } = {}): PreparedData {
  return preparedSplit(source, leaveOneOut(data, options));
}

function preparedSplit(source: string, split: NcfDataset): PreparedData {
  const heldOut = new Map<number, Set<number>>();
  const heldOutRatings: PreparedData['heldOutRatings'] = { users: [], items: [], ratings: [] };
  split.testItem.forEach((item, u) => {
    if (item < 0) return;
    heldOut.set(u, new Set([item]));
    heldOutRatings.users.push(u);
    heldOutRatings.items.push(item);
    heldOutRatings.ratings.push(split.testRating?.[u] ?? 1);
  });
  return prepared(source, split, 'leave-one-out', heldOut, heldOutRatings);
}

/** Per-epoch evaluation: HR@10 and NDCG@10 of the 1 + N protocol, or full-rank recall@10 and NDCG@10 after a percentage split. */
export interface EpochPoint {
  epoch: number;
  loss: number;
  hr: number;
  ndcg: number;
  seconds: number;
}

export interface ModelResult {
  model: string;
  backend: string;
  config?: NcfConfig;
  fit: FitResult;
  sampled: SampledMetrics;
  /** The epoch with the best HR@10 (the paper reports the best epoch). */
  best?: EpochPoint;
  fullRank?: FullRankMetrics;
  history: EpochPoint[];
}

/**
 * Builds and trains one model. NeuMF with pretraining first trains GMF and MLP (same settings), then
 * starts from them with SGD, as the paper does.
 */
export async function trainModel(
  spec: ModelSpec,
  data: TrainingData,
  hooks: FitHooks = {},
  defaults: Partial<NcfConfig> = {},
  onCreated: (model: Recommender) => void = () => undefined,
): Promise<{ model: Recommender; fit: FitResult }> {
  if (spec.name === 'itempop') {
    const model = new ItemPopModel();
    return { model, fit: await model.fit(data) };
  }
  if (spec.name === 'itemknn') {
    const model = new ItemKnnModel();
    return { model, fit: await model.fit(data) };
  }
  const settings = { ...defaults, ...spec.overrides };
  if (spec.name === 'neumf' && spec.pretrain) {
    const gmf = new NcfModel(ncfConfig('gmf', settings));
    const mlp = new NcfModel(ncfConfig('mlp', settings));
    await gmf.fit(data);
    await mlp.fit(data);
    const model = new NcfModel(ncfConfig('neumf', { ...settings, optimizer: 'sgd', learningRate: settings.learningRate ?? 0.001 }));
    model.initializeFromPretrained(gmf, mlp);
    gmf.dispose();
    mlp.dispose();
    onCreated(model);
    return { model, fit: await model.fit(data, hooks) };
  }
  const model = new NcfModel(ncfConfig(spec.name, settings));
  onCreated(model);
  return { model, fit: await model.fit(data, hooks) };
}

/** Trains and evaluates every model on one prepared dataset; HR@10 and NDCG@10 are tracked per epoch. */
export async function runExperiment(
  data: PreparedData,
  specs: ModelSpec[],
  options: { defaults?: Partial<NcfConfig>; fullRank?: boolean; k?: number; onProgress?: (label: string) => FitHooks } = {},
): Promise<ModelResult[]> {
  const k = options.k ?? 10;
  const results: ModelResult[] = [];
  for (const spec of specs) {
    const label = specLabel(spec);
    const history: EpochPoint[] = [];
    const progress = options.onProgress?.(label) ?? {};
    let current: Recommender | undefined;
    const hooks: FitHooks = {
      onBatch: progress.onBatch,
      onEpoch: async (report) => {
        if (current && data.protocol === 'leave-one-out') {
          const m = evaluateSampled(current, data.split, k);
          history.push({ epoch: report.epoch, loss: report.loss, hr: m.hr, ndcg: m.ndcg, seconds: report.seconds });
        } else if (current) {
          const m = evaluateFullRank(current, data.heldOut, data.train.byUser, data.train.numItems, k);
          history.push({ epoch: report.epoch, loss: report.loss, hr: m.recall, ndcg: m.ndcg, seconds: report.seconds });
        }
        await progress.onEpoch?.(report);
      },
    };
    // The model object exists before fit() starts, so per-epoch evaluation can score it.
    const trained = await trainModel(spec, data.train, hooks, options.defaults ?? {}, (m) => (current = m));
    const sampled = evaluateSampled(trained.model, data.split, k);
    let fullRank: FullRankMetrics | undefined;
    if (options.fullRank || data.protocol !== 'leave-one-out') {
      fullRank = evaluateFullRank(trained.model, data.heldOut, data.train.byUser, data.train.numItems, k);
    }
    const best = history.length > 0 ? history.reduce((a, b) => (b.hr > a.hr ? b : a)) : undefined;
    results.push({
      model: label,
      backend: tfLoaded().backend,
      config: trained.model instanceof NcfModel ? trained.model.config : undefined,
      fit: trained.fit,
      sampled,
      best,
      fullRank,
      history,
    });
    trained.model.dispose();
  }
  return results;
}
