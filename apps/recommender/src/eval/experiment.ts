import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Interactions } from '../data/interactions';
import { fingerprint } from '../data/interactions';
import { type NcfDataset, readMovieLens, readNcf } from '../data/readers';
import { kFold, leaveOneOut, percentageSplit, validationSplit } from '../data/split';
import { type EnsembleModel, fitBlender } from '../models/ensemble.model';
import {
  type FitHooks,
  type FitResult,
  MODEL_NAMES,
  type ModelName,
  type Recommender,
  type TrainingData,
  trainingData,
} from '../models/model';
import { createModel, hyperparametersOf, type ModelSettings } from '../models/model-factory';
import { ncfConfig, NcfModel } from '../models/ncf.model';
import { tfLoaded } from '../tf/tf-backend';
import { evaluateFullRank, evaluateSampled, type FullRankMetrics, type SampledMetrics } from './metrics';

/** A model to run: one of MODEL_NAMES, NeuMF optionally from pre-trained GMF and MLP. */
export interface ModelSpec {
  name: ModelName;
  pretrain?: boolean;
  overrides?: ModelSettings;
}

export function specLabel(spec: ModelSpec): string {
  return spec.name === 'neumf' && spec.pretrain ? 'neumf-pretrained' : spec.name;
}

/** What `--models all` runs, in MODEL_NAMES order with NeuMF from pre-training after NeuMF (the ensemble last: it blends models trained before it). */
export const ALL_MODELS: string[] = MODEL_NAMES.flatMap((name) => (name === 'neumf' ? [name, 'neumf-pretrained'] : [name]));

/** Parses `itempop,itemknn,…,neumf-pretrained,ease,ials,bpr,content,hybrid,sasrec,ensemble` (or `all`). */
export function parseModelList(text: string): ModelSpec[] {
  const names =
    text === 'all'
      ? ALL_MODELS
      : text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  return names.map((name) => {
    if (name === 'neumf-pretrained') return { name: 'neumf', pretrain: true };
    if (!(MODEL_NAMES as readonly string[]).includes(name)) throw new Error(`unknown model "${name}" (${ALL_MODELS.join(', ')})`);
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

/** Metrics on the cold-start hold-out (src/eval/cold-start.ts). */
export interface ColdStartResult {
  users: number;
  hr: number;
  ndcg: number;
}

export interface ModelResult {
  model: string;
  backend: string;
  /** The settings the model was built with. */
  config?: Record<string, unknown>;
  fit: FitResult;
  /** Test metrics of the model as trained, at its last epoch (the headline figures). */
  sampled: SampledMetrics;
  fullRank?: FullRankMetrics;
  /** Leave-one-out: the validation hold-out's metrics of the same settings trained without it (selection uses these). */
  validation?: { hr: number; ndcg: number; bestEpoch?: number; bestHr?: number };
  /** The learning curve: training loss and `curve` HR@10 (or recall@10) per epoch. */
  history: EpochPoint[];
  /** Which split `history` is measured on: the validation hold-out, or the test split when there is none (k-fold, percentage). */
  curve: 'validation' | 'test';
  /** Diagnostic only: the epoch with the best test HR@10 (choosing it would select on the test split). */
  testSelected?: EpochPoint;
  coldStart?: ColdStartResult;
  /** Bytes of the saved model. */
  sizeBytes?: number;
}

/**
 * Builds and trains one model. NeuMF with pretraining first trains GMF and MLP (same settings), then
 * starts from them with SGD, as the paper does.
 */
export async function trainModel(
  spec: ModelSpec,
  data: TrainingData,
  hooks: FitHooks = {},
  defaults: ModelSettings = {},
  onCreated: (model: Recommender) => void = () => undefined,
): Promise<{ model: Recommender; fit: FitResult }> {
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
  const model = createModel(spec.name, settings);
  onCreated(model);
  return { model, fit: await model.fit(data, hooks) };
}

/** Bytes of a model as `save` writes it (written to a temporary directory and removed). */
export async function modelSize(model: Recommender): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'recs-size-'));
  try {
    await model.save(join(dir, 'model'));
    const du = (path: string): number =>
      statSync(path).isDirectory() ? readdirSync(path).reduce((n, name) => n + du(join(path, name)), 0) : statSync(path).size;
    return du(join(dir, 'model'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Options of `runExperiment`. */
export interface ExperimentOptions {
  defaults?: ModelSettings;
  fullRank?: boolean;
  k?: number;
  onProgress?: (label: string) => FitHooks;
  /**
   * Leave-one-out: train each model a second time on the training part less each user's latest interaction
   * and measure the learning curve and the selection figures on that hold-out (default true).
   */
  validation?: boolean;
  /** Measure each model's saved size (default true). */
  measureSize?: boolean;
}

/**
 * Trains and evaluates every model on one prepared dataset. After leave-one-out each model is trained twice
 * with the same settings: on the training part less each user's latest interaction, scored on that validation
 * hold-out per epoch (the learning curve and what selection uses), and on the whole training part, scored on
 * the test items at its last epoch (the headline); the per-epoch test curve is kept only as a labelled
 * diagnostic. An ensemble blends the models of the run trained before it (training the members it lacks).
 */
export async function runExperiment(data: PreparedData, specs: ModelSpec[], options: ExperimentOptions = {}): Promise<ModelResult[]> {
  const k = options.k ?? 10;
  const loo = data.protocol === 'leave-one-out';
  const useValidation = loo && (options.validation ?? true);
  const valSplit = useValidation ? validationSplit(data.trainInteractions) : undefined;
  const valTrain = valSplit ? trainingData(valSplit.train) : undefined;
  const ensembleMembers = new Set(
    specs
      .filter((s) => s.name === 'ensemble')
      .flatMap((s) => (createModel('ensemble', { ...options.defaults, ...s.overrides }) as EnsembleModel).memberNames as string[]),
  );
  // Members an ensemble of this run blends: kept after their own evaluation.
  const kept = new Map<string, { full: Recommender; val?: Recommender }>();
  const results: ModelResult[] = [];
  const curvePoint = (model: Recommender, split: NcfDataset, train: TrainingData, heldOut: Map<number, Set<number>> | undefined) => {
    if (!heldOut || loo) {
      const m = evaluateSampled(model, split, k);
      return { hr: m.hr, ndcg: m.ndcg };
    }
    const m = evaluateFullRank(model, heldOut, train.byUser, train.numItems, k);
    return { hr: m.recall, ndcg: m.ndcg };
  };
  const trainTracked = async (
    spec: ModelSpec,
    train: TrainingData,
    split: NcfDataset,
    heldOut: Map<number, Set<number>> | undefined,
    label: string,
  ) => {
    const points: EpochPoint[] = [];
    const progress = options.onProgress?.(label) ?? {};
    let current: Recommender | undefined;
    const hooks: FitHooks = {
      onBatch: progress.onBatch,
      onEpoch: async (report) => {
        if (current && spec.name !== 'ensemble')
          points.push({ epoch: report.epoch, loss: report.loss, seconds: report.seconds, ...curvePoint(current, split, train, heldOut) });
        await progress.onEpoch?.(report);
      },
    };
    const trained = await trainModel(spec, train, hooks, options.defaults ?? {}, (m) => (current = m));
    return { ...trained, points };
  };
  for (const spec of specs) {
    const label = specLabel(spec);
    let validation: ModelResult['validation'];
    let history: EpochPoint[] = [];
    let valModel: Recommender | undefined;
    let full: { model: Recommender; fit: FitResult; points: EpochPoint[]; valModel?: Recommender };
    if (spec.name === 'ensemble') {
      full = await runEnsemble(spec, data, valSplit, valTrain, kept, options, trainTracked);
      if (valSplit && full.valModel) {
        const m = evaluateSampled(full.valModel, valSplit, k);
        validation = { hr: m.hr, ndcg: m.ndcg };
      }
    } else {
      if (valSplit && valTrain) {
        const v = await trainTracked(spec, valTrain, valSplit, undefined, `${label} (validation)`);
        history = v.points;
        const m = evaluateSampled(v.model, valSplit, k);
        const best = history.length > 0 ? history.reduce((a, b) => (b.hr > a.hr ? b : a)) : undefined;
        validation = { hr: m.hr, ndcg: m.ndcg, bestEpoch: best?.epoch, bestHr: best?.hr };
        valModel = v.model;
      }
      full = await trainTracked(spec, data.train, data.split, loo ? undefined : data.heldOut, label);
      if (!valSplit) history = full.points;
    }
    const sampled = evaluateSampled(full.model, data.split, k);
    let fullRank: FullRankMetrics | undefined;
    if (options.fullRank || !loo) fullRank = evaluateFullRank(full.model, data.heldOut, data.train.byUser, data.train.numItems, k);
    const testSelected = full.points.length > 0 ? full.points.reduce((a, b) => (b.hr > a.hr ? b : a)) : undefined;
    results.push({
      model: label,
      backend: tfLoaded().backend,
      config: hyperparametersOf(full.model),
      fit: full.fit,
      sampled,
      fullRank,
      validation,
      history,
      curve: valSplit ? 'validation' : 'test',
      testSelected,
      sizeBytes: (options.measureSize ?? true) ? await modelSize(full.model) : undefined,
    });
    if (ensembleMembers.has(label)) kept.set(label, { full: full.model, val: valModel });
    else {
      full.model.dispose();
      valModel?.dispose();
    }
  }
  for (const { full, val } of kept.values()) {
    full.dispose();
    val?.dispose();
  }
  return results;
}

type TrainTracked = (
  spec: ModelSpec,
  train: TrainingData,
  split: NcfDataset,
  heldOut: Map<number, Set<number>> | undefined,
  label: string,
) => Promise<{ model: Recommender; fit: FitResult; points: EpochPoint[] }>;

/**
 * The ensemble of a run: its members trained on the validation training part and on the whole training part
 * (those the run trained already are reused), the blender fitted on the validation hold-out.
 */
async function runEnsemble(
  spec: ModelSpec,
  data: PreparedData,
  valSplit: NcfDataset | undefined,
  valTrain: TrainingData | undefined,
  kept: Map<string, { full: Recommender; val?: Recommender }>,
  options: ExperimentOptions,
  trainTracked: TrainTracked,
): Promise<{ model: Recommender; fit: FitResult; points: EpochPoint[]; valModel?: Recommender }> {
  const settings = { ...options.defaults, ...spec.overrides };
  const ensemble = createModel('ensemble', settings) as EnsembleModel;
  if (!valSplit || !valTrain) {
    // No validation hold-out in this protocol: the ensemble makes its own inside the training part.
    const fit = await ensemble.fit(data.train, options.onProgress?.('ensemble'));
    return { model: ensemble, fit, points: [] };
  }
  const started = performance.now();
  const fulls: Recommender[] = [];
  const vals: Recommender[] = [];
  for (const name of ensemble.memberNames) {
    let member = kept.get(name);
    if (!member?.val) {
      const memberSpec: ModelSpec = { name, overrides: spec.overrides };
      const val = (await trainTracked(memberSpec, valTrain, valSplit, undefined, `ensemble/${name} (validation)`)).model;
      const full = member?.full ?? (await trainTracked(memberSpec, data.train, data.split, undefined, `ensemble/${name}`)).model;
      member = { full, val };
      kept.set(name, member);
    }
    fulls.push(member.full);
    vals.push(member.val as Recommender);
  }
  const weights = fitBlender(vals, valSplit, ensemble.config.blenderL2);
  const onValidation = createModel('ensemble', settings) as EnsembleModel;
  onValidation.use(vals, weights, valTrain.numItems);
  ensemble.use(fulls, weights, data.train.numItems);
  const seconds = (performance.now() - started) / 1000;
  // Members belong to the run (disposed with it): the ensemble must not dispose them.
  const view: Recommender = Object.assign(Object.create(ensemble) as EnsembleModel, { dispose: () => undefined });
  return { model: view, fit: { epochs: 1, samples: 0, seconds, samplesPerSecond: 0, losses: [] }, points: [], valModel: onValidation };
}
