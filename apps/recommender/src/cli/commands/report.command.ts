import { readFileSync } from 'node:fs';
import type { ColdStartBaseline } from '../../eval/cold-start-run';
import { type ModelResult } from '../../eval/experiment';
import { selectionLine, writeHtmlReport } from '../../eval/report';
import type { Command, CommandContext } from '../command';

type Line = Record<string, any>;

/** A model's `evaluate --json` line read back (what the report and the selection need). */
export function resultFromJsonLine(line: Line): ModelResult {
  const nan = (x: unknown) => (typeof x === 'number' ? x : NaN);
  const curves = line['curves'] as Line | undefined;
  const diag = line['diagnostic_test_selected'] as Line | undefined;
  const full = line['full_rank'] as Line | undefined;
  const cold = line['cold_start'] as Line | undefined;
  return {
    model: line['model'],
    backend: line['backend'] ?? '',
    config: line['hyperparameters'],
    fit: {
      epochs: line['epochs'] ?? 1,
      samples: 0,
      seconds: line['train_seconds'] ?? 0,
      samplesPerSecond: line['samples_per_second'] ?? 0,
      losses: curves?.['loss'] ?? [],
    },
    sampled: {
      users: line['users'] ?? 0,
      hr: nan(line['hr@10']),
      ndcg: nan(line['ndcg@10']),
      mrr: nan(line['mrr']),
      auc: nan(line['auc']),
      k: 10,
    },
    fullRank: full && {
      users: line['users'] ?? 0,
      k: 10,
      precision: full['precision@10'],
      recall: full['recall@10'],
      f1: full['f1@10'],
      ndcg: full['ndcg@10'],
      map: full['map@10'],
      coverage: full['coverage'],
    },
    validation:
      typeof line['val_hr@10'] === 'number'
        ? { hr: line['val_hr@10'], ndcg: line['val_ndcg@10'], bestEpoch: line['val_best_epoch'] }
        : undefined,
    history: ((curves?.['loss'] as number[] | undefined) ?? []).map((loss, k) => ({
      epoch: k + 1,
      loss,
      hr: (curves?.['hr@10'] ?? curves?.['recall@10'])?.[k] ?? NaN,
      ndcg: NaN,
      seconds: 0,
    })),
    curve: curves?.['on'] === 'test' ? 'test' : 'validation',
    testSelected: diag && { epoch: diag['epoch'], loss: NaN, hr: diag['hr@10'] ?? diag['recall@10'], ndcg: diag['ndcg@10'], seconds: 0 },
    coldStart: cold && { users: cold['users'], hr: cold['hr@10'], ndcg: cold['ndcg@10'] },
    sizeBytes: line['model_bytes'],
  };
}

/**
 * `report`: one HTML report and one selection line from the JSON lines of several `evaluate --json` runs of the
 * same source and split (e.g. groups of models run as separate processes); a model in several runs counts once
 * (its first line), ItemPop included.
 */
async function report({ values: v, arg, log }: CommandContext): Promise<number> {
  const files = arg().split(',').filter(Boolean);
  const results: ModelResult[] = [];
  const baselines: ColdStartBaseline[] = [];
  let source = '';
  for (const file of files) {
    for (const text of readFileSync(file, 'utf8').split('\n')) {
      if (!text.trim()) continue;
      const line = JSON.parse(text) as Line;
      if (line['split'] === 'cold-start' && !baselines.some((b) => b.model === line['model']))
        baselines.push({
          model: line['model'],
          note: line['note'],
          users: line['cold_start'].users,
          hr: line['cold_start']['hr@10'],
          ndcg: line['cold_start']['ndcg@10'],
        });
      if (line['split'] !== 'leave-one-out' || line['mae'] !== undefined || results.some((r) => r.model === line['model'])) continue;
      source ||= line['source'];
      results.push(resultFromJsonLine(line));
    }
  }
  const selection = selectionLine(results);
  if (selection) process.stdout.write(`${JSON.stringify(selection)}\n`);
  const out = v.report ?? 'tmp/recs-report.html';
  writeHtmlReport(out, source, results, 'leave-one-out', [], baselines);
  log(`report: ${out} (${results.length} models)`);
  return 0;
}

export const reportCommand: Command = {
  name: 'report',
  usage: [
    'report <run.json[,run2.json,…]> [--report out.html]',
    '    one HTML report and the validation selection from the JSON lines of several evaluate --json runs',
  ],
  flags: ['report'],
  arg: '<run.json[,…]>',
  run: report,
};
