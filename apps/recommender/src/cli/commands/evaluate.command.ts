import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readMovieLens } from '../../data/readers';
import { type ColdStartBaseline, runColdStart } from '../../eval/cold-start-run';
import {
  type ModelResult,
  type ModelSpec,
  parseModelList,
  parseSplit,
  prepare,
  prepareSplits,
  runExperiment,
  specLabel,
} from '../../eval/experiment';
import { hasExplicitRatings, type RatingMetrics, ratingMetrics } from '../../eval/rating-metrics';
import { jsonLine, selectionLine, writeHtmlReport } from '../../eval/report';
import { type FlagName, num, splitOptions, TRAINING_FLAGS, trainingSettings } from '../cli-flags';
import type { Command, CommandContext } from '../command';
import { progress } from '../progress';

/** `evaluate` and `compare`: they differ only in the models trained when `--models` is not given. */
async function evaluate({ values: v, arg, log }: CommandContext, defaultModels: string): Promise<number> {
  const source = arg();
  const splitSpec = parseSplit(v.split ?? 'loo');
  const folds =
    splitSpec.mode === 'leave-one-out'
      ? [await prepare(source, splitOptions(v))]
      : await prepareSplits(source, splitSpec, num(v.seed, 'seed'));
  let specs = parseModelList(v.models ?? defaultModels);
  if (!specs.some((s) => s.name === 'itempop')) specs.unshift({ name: 'itempop' });
  const defaults = trainingSettings(v);
  defaults.itemText ??= defaultItemText(source, specs, log);
  if (!defaults.itemText && (v.models ?? defaultModels) === 'all') {
    // `all` on a source without item texts (an NCF split, ML-100K's u.data): the rest still runs.
    log('content, hybrid: skipped (no item texts: --item-text movies.csv or posts.jsonl)');
    specs = specs.filter((s) => s.name !== 'content' && s.name !== 'hybrid');
  }
  const all: ModelResult[] = [];
  const ratings: (RatingMetrics & { fold?: number })[] = [];
  let coldBaselines: ColdStartBaseline[] = [];
  for (const [f, data] of folds.entries()) {
    const results = await runExperiment(data, specs, {
      defaults,
      validation: v.validation ?? true,
      fullRank: v['full-rank'] ?? true,
      onProgress: (label) => progress(folds.length > 1 ? `${label} f${f + 1}` : label, v.json === true && !process.stderr.isTTY),
    });
    const extra = { split: data.protocol, ...(folds.length > 1 ? { fold: f + 1 } : {}) };
    const coldSpecs = specs.filter((s) => ['itempop', 'content', 'hybrid'].includes(s.name));
    if (
      (v['cold-start'] ?? true) &&
      data.protocol === 'leave-one-out' &&
      defaults.itemText &&
      coldSpecs.some((s) => s.name !== 'itempop')
    ) {
      log('cold start: 10 % of the items held out of training entirely');
      const cold = await runColdStart(await readMovieLens(source), coldSpecs, defaults, num(v.seed, 'seed'));
      for (const r of results) if (cold.byModel.has(r.model)) r.coldStart = cold.byModel.get(r.model);
      coldBaselines = cold.baselines;
    }
    for (const r of results) {
      if (v.json) process.stdout.write(`${jsonLine(r, data.source, extra)}\n`);
      else {
        const full = r.fullRank ? `  full-rank recall@10 ${r.fullRank.recall.toFixed(4)} NDCG@10 ${r.fullRank.ndcg.toFixed(4)}` : '';
        const val = r.validation ? `  validation HR@10 ${r.validation.hr.toFixed(4)}` : '';
        const cold = r.coldStart ? `  cold-start HR@10 ${r.coldStart.hr.toFixed(4)}` : '';
        log(
          `${r.model.padEnd(18)} HR@10 ${r.sampled.hr.toFixed(4)}  NDCG@10 ${r.sampled.ndcg.toFixed(4)}${val}${full}${cold}  ${r.fit.seconds.toFixed(1)} s`,
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
  for (const b of coldBaselines) {
    const line = {
      model: b.model,
      source,
      split: 'cold-start',
      cold_start: { users: b.users, 'hr@10': b.hr, 'ndcg@10': b.ndcg },
      note: b.note,
    };
    if (v.json) process.stdout.write(`${JSON.stringify(line)}\n`);
    else log(`${b.model.padEnd(18)} cold-start HR@10 ${b.hr.toFixed(4)} NDCG@10 ${b.ndcg.toFixed(4)} (${b.note})`);
  }
  const selection = folds.length === 1 ? selectionLine(all) : undefined;
  if (selection) {
    if (v.json) process.stdout.write(`${JSON.stringify(selection)}\n`);
    else log(`chosen on validation: ${JSON.stringify(selection)}`);
  }
  const report = v.report ?? 'tmp/recs-report.html';
  writeHtmlReport(report, source, all, folds[0].protocol, ratings, coldBaselines);
  log(`report: ${report}`);
  return 0;
}

/** MovieLens' movies.csv beside the ratings file, when a model of the run reads item texts and none were given. */
function defaultItemText(source: string, specs: ModelSpec[], log: (line: string) => void): string | undefined {
  if (!specs.some((s) => ['content', 'hybrid', 'ensemble'].includes(s.name))) return undefined;
  const movies = join(dirname(source), 'movies.csv');
  if (!existsSync(movies)) return undefined;
  log(`item texts: ${movies} (and tags.csv beside it when present)`);
  return movies;
}

const EVALUATE_FLAGS: readonly FlagName[] = [
  'models',
  'json',
  'report',
  'split',
  'full-rank',
  'negatives',
  'cold-start',
  'validation',
  ...TRAINING_FLAGS,
];

export const evaluateCommand: Command = {
  name: 'evaluate',
  usage: [
    'evaluate <source> [--models all|itempop,itemknn,mf,gmf,mlp,neumf,neumf-pretrained,ease,ials,bpr,content,hybrid,sasrec,ensemble]',
    '         [--json] [--report out.html] [--split loo|temporal:0.2|random:0.2|kfold:5] [--no-validation] [--no-cold-start]',
    "    train every model on the source's training part and evaluate HR@10, NDCG@10, MRR, AUC (1 + N protocol,",
    '    leave-one-out by time) and full-rank precision/recall/F1/NDCG/MAP@10 and coverage (every split); after',
    "    leave-one-out each model also trains without each user's latest training interaction (the validation",
    '    hold-out: learning curves, selection) and content models are scored on items held out of training;',
    '    <source> is a MovieLens ratings file (ratings.csv, u.data, ratings.dat) or an NCF file prefix',
  ],
  flags: EVALUATE_FLAGS,
  arg: '<source>',
  tf: true,
  run: (ctx) => evaluate(ctx, 'itempop,neumf'),
};

export const compareCommand: Command = {
  name: 'compare',
  usage: ['compare <source> ...            the same as evaluate with --models all'],
  flags: EVALUATE_FLAGS,
  arg: '<source>',
  tf: true,
  run: (ctx) => evaluate(ctx, 'all'),
};
