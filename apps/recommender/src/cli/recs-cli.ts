import { parseArgs } from 'node:util';
import { readItemAttributes } from '../data/item-attributes';
import { readMovieLens } from '../data/readers';
import { leaveOneOut, validationSplit, writeNcf } from '../data/split';
import { trainingData } from '../models/model';
import { type NcfConfig, PAPER_DEFAULTS } from '../models/ncf.model';
import { evaluateSampled } from '../eval/metrics';
import {
  type ModelResult,
  type ModelSpec,
  parseModelList,
  parseSplit,
  prepare,
  prepareSplits,
  runExperiment,
  specLabel,
  trainModel,
} from '../eval/experiment';
import { jsonLine, writeHtmlReport } from '../eval/report';
import { ModelRegistry } from '../registry/model-registry';
import { writeSyntheticRatings } from '../testing/synthetic';
import { profileTraining } from '../eval/profile';
import { hasExplicitRatings, type RatingMetrics, ratingMetrics } from '../eval/rating-metrics';
import { type BackendChoice, describeBackend, loadTf } from '../tf/tf-backend';

const USAGE = `usage: recs <command> [options]

  split <ratings> --out <prefix> [--negatives 99] [--seed 42]
      leave-one-out split of a MovieLens file, written in the NCF format (<prefix>.train.rating, .test.rating, .test.negative)
  evaluate <source> [--models all|itempop,itemknn,mf,gmf,mlp,neumf,neumf-pretrained] [--json] [--report out.html]
           [--split loo|temporal:0.2|random:0.2|kfold:5]
      train every model on the source's training part and evaluate HR@10, NDCG@10, MRR, AUC (1 + N protocol,
      leave-one-out) and full-rank precision/recall/F1/NDCG/MAP@10 and coverage (every split);
      <source> is a MovieLens ratings file (ratings.csv, u.data, ratings.dat) or an NCF file prefix
  compare <source> ...            the same as evaluate with --models all
  train <source> --model <name> [--models-dir dir] [--promote] [--item-metadata movies.csv]
      train one model on the source's training part, evaluate it and register it as a new version;
      --item-metadata keeps MovieLens item metadata (movies.csv, movies.dat, u.item: genre, year) for Recommend filters
  search <source> --model <name> [--grid "factors=8,16;learningRate=0.001,0.005"] [--trials n]
      hyperparameter search (grid, or n random picks from it) on a validation hold-out of the training part
  profile <source> [--models gmf,mlp,neumf] [--epochs 1] [--max-samples n] [--layers-steps 200]
      training samples/s and where a step's time goes, scoring latency for all items; one JSON line
  synthetic --out <ratings.csv> [--users 120] [--items 240] [--per-user 20] [--seed 7]
      write a MovieLens-format file with taste clusters (tests, demos, benchmarks without a download)
  models [--models-dir dir]       list registered versions, newest first
  promote <version> [--reason text] [--models-dir dir]
  rollback [--reason text] [--models-dir dir]

training options: --epochs 20 --batch-size 256 --lr 0.001 --factors 8 --layers 64,32,16,8 --negatives-train 4
                  --l2 0 --dropout 0 --seed 42 --backend auto|tensorflow|wasm|cpu`;

const options = {
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
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

function num(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${value}"`);
  return n;
}

function trainingSettings(v: Values): Partial<NcfConfig> {
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

/** A progress line on stderr: model, epoch, batch, ETA and the running loss. */
function progress(label: string, quiet: boolean) {
  let epochStarted = performance.now();
  return {
    onBatch: (epoch: number, batch: number, batches: number, loss: number) => {
      if (quiet) return;
      const elapsed = (performance.now() - epochStarted) / 1000;
      const eta = batch > 0 ? (elapsed / batch) * (batches - batch) : 0;
      const width = 24;
      const done = Math.round((batch / batches) * width);
      process.stderr.write(
        `\r${label.padEnd(16)} epoch ${epoch} [${'#'.repeat(done)}${'.'.repeat(width - done)}] batch ${batch}/${batches} loss ${loss.toFixed(4)} ETA ${eta.toFixed(0)}s   `,
      );
    },
    onEpoch: (r: { epoch: number; epochs: number; loss: number; seconds: number; samples: number }) => {
      if (!quiet)
        process.stderr.write(
          `\r${label.padEnd(16)} epoch ${r.epoch}/${r.epochs} loss ${r.loss.toFixed(4)} ${(r.samples / r.seconds).toFixed(0)} samples/s (${r.seconds.toFixed(1)} s)${' '.repeat(30)}\n`,
        );
      epochStarted = performance.now();
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
  const [command, arg] = positionals;
  if (v.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const modelsDir = v['models-dir'] ?? 'tmp/models';
  const needArg = (what: string) => {
    if (!arg) throw new Error(`${command}: missing ${what}\n${USAGE}`);
    return arg;
  };
  const needsTf = ['evaluate', 'compare', 'train', 'search', 'profile'].includes(command);
  if (needsTf) log(describeBackend(await loadTf((v.backend ?? 'auto') as BackendChoice)));

  switch (command) {
    case 'split': {
      const data = await readMovieLens(needArg('<ratings>'));
      if (!v.out) throw new Error('split: --out <prefix> is required');
      const split = leaveOneOut(data, { negatives: num(v.negatives, 'negatives'), seed: num(v.seed, 'seed') });
      writeNcf(v.out, split);
      log(
        `wrote ${v.out}.train.rating (${split.train.users.length} rows), .test.rating, .test.negative (${split.testItem.filter((i) => i >= 0).length} users)`,
      );
      return 0;
    }
    case 'evaluate':
    case 'compare': {
      const source = needArg('<source>');
      const splitSpec = parseSplit(v.split ?? 'loo');
      const folds =
        splitSpec.mode === 'leave-one-out'
          ? [await prepare(source, { negatives: num(v.negatives, 'negatives'), seed: num(v.seed, 'seed') })]
          : await prepareSplits(source, splitSpec, num(v.seed, 'seed'));
      const specs = parseModelList(command === 'compare' ? (v.models ?? 'all') : (v.models ?? 'itempop,neumf'));
      if (!specs.some((s) => s.name === 'itempop')) specs.unshift({ name: 'itempop' });
      const all: ModelResult[] = [];
      const ratings: (RatingMetrics & { fold?: number })[] = [];
      for (const [f, data] of folds.entries()) {
        const results = await runExperiment(data, specs, {
          defaults: trainingSettings(v),
          fullRank: v['full-rank'] ?? true,
          onProgress: (label) => progress(folds.length > 1 ? `${label} f${f + 1}` : label, v.json === true && !process.stderr.isTTY),
        });
        const extra = { split: data.protocol, ...(folds.length > 1 ? { fold: f + 1 } : {}) };
        for (const r of results) {
          if (v.json) process.stdout.write(`${jsonLine(r, data.source, extra)}\n`);
          else {
            const full = r.fullRank ? `  full-rank recall@10 ${r.fullRank.recall.toFixed(4)} NDCG@10 ${r.fullRank.ndcg.toFixed(4)}` : '';
            log(
              `${r.model.padEnd(18)} HR@10 ${r.sampled.hr.toFixed(4)}  NDCG@10 ${r.sampled.ndcg.toFixed(4)}${full}  best epoch ${r.best?.epoch ?? '-'}  ${Math.round(r.fit.samplesPerSecond)} samples/s`,
            );
          }
          all.push(folds.length > 1 ? { ...r, model: `${r.model} (fold ${f + 1})` } : r);
        }
        if (hasExplicitRatings(data.trainInteractions) && data.heldOutRatings.ratings.length > 0) {
          for (const m of ratingMetrics(data.trainInteractions, data.heldOutRatings)) {
            const line = {
              model: m.model,
              source: data.source,
              ...extra,
              ratings: m.ratings,
              mae: Number(m.mae.toFixed(4)),
              rmse: Number(m.rmse.toFixed(4)),
            };
            if (v.json) process.stdout.write(`${JSON.stringify(line)}\n`);
            else log(`${m.model.padEnd(18)} MAE ${m.mae.toFixed(4)}  RMSE ${m.rmse.toFixed(4)} on ${m.ratings} held-out ratings`);
            ratings.push({ ...m, fold: folds.length > 1 ? f + 1 : undefined });
          }
        }
      }
      if (folds.length > 1 && v.json) {
        for (const spec of specs) {
          const label = specLabel(spec);
          const mine = all.filter((r) => r.model.startsWith(`${label} (fold `));
          const mean = (pick: (r: ModelResult) => number | undefined) => mine.reduce((a, r) => a + (pick(r) ?? 0), 0) / mine.length;
          process.stdout.write(
            `${JSON.stringify({ model: label, source, split: 'fold', fold: 'mean', folds: mine.length, 'full_rank_recall@10': mean((r) => r.fullRank?.recall), 'full_rank_ndcg@10': mean((r) => r.fullRank?.ndcg), 'full_rank_map@10': mean((r) => r.fullRank?.map) })}\n`,
          );
        }
      }
      const report = v.report ?? 'tmp/recs-report.html';
      writeHtmlReport(report, source, all, folds[0].protocol, ratings);
      log(`report: ${report}`);
      return 0;
    }
    case 'train': {
      if (!v.model) throw new Error('train: --model is required');
      const [spec] = parseModelList(v.model);
      const data = await prepare(needArg('<source>'), { negatives: num(v.negatives, 'negatives'), seed: num(v.seed, 'seed') });
      const settings = trainingSettings(v);
      const { model, fit } = await trainModel(spec, data.train, progress(specLabel(spec), false), settings);
      const metrics = evaluateSampled(model, data.split);
      const registry = new ModelRegistry(modelsDir);
      const record = await registry.register(
        model,
        {
          metrics: {
            hr_at_10: metrics.hr,
            ndcg_at_10: metrics.ndcg,
            mrr: metrics.mrr,
            auc: metrics.auc,
            samples_per_second: fit.samplesPerSecond,
          },
          dataFingerprint: data.fingerprint,
          dataCutoff: data.cutoff > 0 ? new Date(data.cutoff * 1000).toISOString() : '',
          hyperparameters: { ...PAPER_DEFAULTS, ...settings, model: specLabel(spec) },
        },
        {
          users: data.trainInteractions.userIds,
          items: data.trainInteractions.itemIds,
          popularity: data.train.popularity,
          seen: data.train.byUser,
          attributes: v['item-metadata'] ? await readItemAttributes(v['item-metadata']) : undefined,
        },
      );
      model.dispose();
      log(`registered ${record.version}: HR@10 ${metrics.hr.toFixed(4)} NDCG@10 ${metrics.ndcg.toFixed(4)}`);
      if (v.promote) log(`promoted ${registry.promote(record.version, 'recs train --promote').record.version}`);
      process.stdout.write(`${record.version}\n`);
      return 0;
    }
    case 'search': {
      if (!v.model) throw new Error('search: --model is required');
      const [spec] = parseModelList(v.model);
      const data = await prepare(needArg('<source>'), { negatives: num(v.negatives, 'negatives'), seed: num(v.seed, 'seed') });
      const validation = validationSplit(data.trainInteractions, { seed: num(v.seed, 'seed') });
      const grid = parseGrid(v.grid ?? 'factors=8,16,32;learningRate=0.001,0.005');
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
      let best: { settings: Partial<NcfConfig>; hr: number; ndcg: number } | undefined;
      for (const candidate of candidates) {
        const settings = { ...base, ...candidate };
        const { model } = await trainModel(spec as ModelSpec, validTrain, {}, settings);
        const m = evaluateSampled(model, validation);
        model.dispose();
        process.stdout.write(`${JSON.stringify({ model: specLabel(spec), ...candidate, 'val_hr@10': m.hr, 'val_ndcg@10': m.ndcg })}\n`);
        if (!best || m.hr > best.hr) best = { settings: candidate, hr: m.hr, ndcg: m.ndcg };
      }
      log(`best on the validation hold-out: ${JSON.stringify(best)}`);
      return 0;
    }
    case 'profile': {
      const data = await prepare(needArg('<source>'), { negatives: num(v.negatives, 'negatives'), seed: num(v.seed, 'seed') });
      const result = await profileTraining(data, {
        models: (v.models ?? 'gmf,mlp,neumf').split(','),
        settings: { epochs: 1, ...trainingSettings(v) },
        maxSamples: num(v['max-samples'], 'max-samples'),
        layersSteps: num(v['layers-steps'], 'layers-steps') ?? 0,
      });
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return 0;
    }
    case 'synthetic': {
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
    case 'models': {
      const registry = new ModelRegistry(modelsDir);
      const promoted = registry.state().promoted;
      for (const r of registry.list())
        process.stdout.write(`${r.version === promoted ? '*' : ' '} ${r.version}  ${r.algorithm}  ${JSON.stringify(r.metrics)}\n`);
      return 0;
    }
    case 'promote': {
      const { record, previous } = new ModelRegistry(modelsDir).promote(needArg('<version>'), v.reason ?? '');
      log(`promoted ${record.version}${previous ? ` (was ${previous})` : ''}`);
      return 0;
    }
    case 'rollback': {
      const { record, rolledBack } = new ModelRegistry(modelsDir).rollback(v.reason ?? '');
      log(`rolled back ${rolledBack}; serving ${record.version}`);
      return 0;
    }
    default:
      throw new Error(`unknown command "${command}"\n${USAGE}`);
  }
}

/** `factors=8,16;learningRate=0.001,0.005` → { factors: [8, 16], learningRate: [0.001, 0.005] }. */
export function parseGrid(text: string): Record<string, number[]> {
  const grid: Record<string, number[]> = {};
  for (const part of text.split(';').filter(Boolean)) {
    const [key, values] = part.split('=');
    if (!key || !values || !(key.trim() in PAPER_DEFAULTS))
      throw new Error(`--grid: bad entry "${part}" (keys: ${Object.keys(PAPER_DEFAULTS).join(', ')})`);
    grid[key.trim()] = values.split(',').map((x) => num(x, 'grid') as number);
  }
  return grid;
}

function cartesian(grid: Record<string, number[]>): Partial<NcfConfig>[] {
  let out: Record<string, number>[] = [{}];
  for (const [key, values] of Object.entries(grid)) out = out.flatMap((o) => values.map((v) => ({ ...o, [key]: v })));
  return out as Partial<NcfConfig>[];
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`recs: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
