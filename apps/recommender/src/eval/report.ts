import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ColdStartBaseline } from './cold-start-run';
import type { ModelResult } from './experiment';
import type { RatingMetrics } from './rating-metrics';

/**
 * One JSON line per model: what `evaluate --json` prints, comparable with any other implementation. The headline
 * figures are the test metrics of the model as trained (its last epoch at fixed settings); `val_*` are the same
 * settings' figures on the validation hold-out (what selection uses); `diagnostic_test_selected` is the epoch with
 * the best test HR@10, which would select on the test split: a diagnostic, never a result.
 */
export function jsonLine(result: ModelResult, source: string, extra: Record<string, unknown> = {}): string {
  const loo = extra['split'] === undefined || extra['split'] === 'leave-one-out';
  const curveKey = loo ? 'hr@10' : 'recall@10';
  return JSON.stringify({
    model: result.model,
    source,
    ...extra,
    backend: result.backend,
    'hr@10': round(result.sampled.hr),
    'ndcg@10': round(result.sampled.ndcg),
    mrr: round(result.sampled.mrr),
    auc: round(result.sampled.auc),
    'val_hr@10': result.validation ? round(result.validation.hr) : undefined,
    'val_ndcg@10': result.validation ? round(result.validation.ndcg) : undefined,
    val_best_epoch: result.validation?.bestEpoch,
    full_rank: result.fullRank
      ? {
          'precision@10': round(result.fullRank.precision),
          'recall@10': round(result.fullRank.recall),
          'f1@10': round(result.fullRank.f1),
          'ndcg@10': round(result.fullRank.ndcg),
          'map@10': round(result.fullRank.map),
          coverage: round(result.fullRank.coverage),
        }
      : undefined,
    cold_start: result.coldStart
      ? { users: result.coldStart.users, 'hr@10': round(result.coldStart.hr), 'ndcg@10': round(result.coldStart.ndcg) }
      : undefined,
    epochs: result.fit.epochs,
    train_seconds: round(result.fit.seconds, 2),
    model_bytes: result.sizeBytes,
    samples_per_second: result.fit.samplesPerSecond > 0 ? Math.round(result.fit.samplesPerSecond) : null,
    users: result.sampled.users || result.fullRank?.users,
    curves:
      result.history.length > 0
        ? {
            on: result.curve,
            loss: result.history.map((h) => round(h.loss)),
            [curveKey]: result.history.map((h) => round(h.hr)),
          }
        : undefined,
    diagnostic_test_selected: result.testSelected
      ? {
          note: 'epoch chosen on the test split: optimistic, not a result',
          epoch: result.testSelected.epoch,
          [curveKey]: round(result.testSelected.hr),
          'ndcg@10': round(result.testSelected.ndcg),
        }
      : undefined,
    hyperparameters: result.config,
  });
}

/**
 * The `{"selection":"validation",…}` line: the model chosen on validation with its test figures, and whether the
 * ensemble (when there is one) beats the best single model chosen the same way. Undefined without validation.
 */
export function selectionLine(results: ModelResult[]): Record<string, unknown> | undefined {
  const selected = selectOnValidation(results);
  if (!selected) return undefined;
  const ensemble = results.find((r) => r.model === 'ensemble');
  const bestSingle = selectOnValidation(results.filter((r) => r.model !== 'ensemble'));
  return {
    selection: 'validation',
    model: selected.model,
    'val_hr@10': selected.validation?.hr,
    'hr@10': selected.sampled.hr,
    'ndcg@10': selected.sampled.ndcg,
    ...(ensemble && bestSingle
      ? {
          best_single: bestSingle.model,
          'best_single_hr@10': bestSingle.sampled.hr,
          ensemble_beats_best_single: ensemble.sampled.hr > bestSingle.sampled.hr,
        }
      : {}),
  };
}

/** The model chosen on the validation hold-out (best validation HR@10), with its test figures. */
export function selectOnValidation(results: ModelResult[]): ModelResult | undefined {
  const candidates = results.filter((r) => r.validation && Number.isFinite(r.validation.hr));
  return candidates.length > 0 ? candidates.reduce((a, b) => ((b.validation?.hr ?? 0) > (a.validation?.hr ?? 0) ? b : a)) : undefined;
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;
/** A metric for the HTML table; NaN (a metric the protocol does not have) shows as a dash. */
const fmt = (x: number | undefined, digits = 4) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits));
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

function lineChart(title: string, series: { name: string; points: [number, number][] }[]): string {
  const W = 520;
  const H = 260;
  const P = 40;
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return '';
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys, Math.min(...ys) + 1e-6)];
  const sx = (x: number) => P + ((x - x0) / (x1 - x0)) * (W - 2 * P);
  const sy = (y: number) => H - P - ((y - y0) / (y1 - y0)) * (H - 2 * P);
  const lines = series
    .map(
      (s, k) =>
        `<polyline fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="2" points="${s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`,
    )
    .join('');
  const legend = series
    .map((s, k) => `<text x="${W - P - 130}" y="${P + 14 * k}" fill="${COLORS[k % COLORS.length]}" font-size="11">${esc(s.name)}</text>`)
    .join('');
  return `<figure><figcaption>${esc(title)}</figcaption><svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">
<rect x="${P}" y="${P / 2}" width="${W - 2 * P}" height="${H - 1.5 * P}" fill="none" stroke="#ccc"/>
<text x="${P}" y="${H - 8}" font-size="10">epoch ${x0}</text><text x="${W - P - 30}" y="${H - 8}" font-size="10">${x1}</text>
<text x="2" y="${sy(y1) + 4}" font-size="10">${y1.toFixed(3)}</text><text x="2" y="${sy(y0)}" font-size="10">${y0.toFixed(3)}</text>
${lines}${legend}</svg></figure>`;
}

function barChart(title: string, bars: { name: string; value: number }[]): string {
  const W = 520;
  const row = 22;
  const H = row * bars.length + 20;
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const body = bars
    .map((b, k) => {
      const w = (b.value / max) * (W - 200);
      return `<text x="0" y="${k * row + 15}" font-size="12">${esc(b.name)}</text><rect x="140" y="${k * row + 4}" width="${w.toFixed(1)}" height="14" fill="${COLORS[k % COLORS.length]}"/><text x="${(145 + w).toFixed(1)}" y="${k * row + 15}" font-size="11">${b.value.toFixed(4)}</text>`;
    })
    .join('');
  return `<figure><figcaption>${esc(title)}</figcaption><svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">${body}</svg></figure>`;
}

/** The HTML report: a table of every model beside ItemPop, loss and HR@10 per epoch, metrics per model. */
export function writeHtmlReport(
  path: string,
  source: string,
  results: ModelResult[],
  protocol = 'leave-one-out',
  ratings: (RatingMetrics & { fold?: number })[] = [],
  coldBaselines: ColdStartBaseline[] = [],
): void {
  const curve = protocol === 'leave-one-out' ? 'HR@10' : 'full-rank recall@10';
  const curveOn = results.some((r) => r.curve === 'validation')
    ? 'validation'
    : 'test (diagnostic: no validation hold-out in this protocol)';
  const pop = results.find((r) => r.model === 'itempop');
  const selected = selectOnValidation(results);
  const ensemble = results.find((r) => r.model === 'ensemble');
  const bestSingle = selectOnValidation(results.filter((r) => r.model !== 'ensemble'));
  const rows = results
    .map((r) => {
      const fr = r.fullRank;
      const vsPop =
        pop && r !== pop && r.sampled.users > 0
          ? ` (${r.sampled.hr >= pop.sampled.hr ? '+' : ''}${(r.sampled.hr - pop.sampled.hr).toFixed(3)})`
          : '';
      const cold = r.coldStart ? `${fmt(r.coldStart.hr)} / ${fmt(r.coldStart.ndcg)}` : '';
      return `<tr><td>${esc(r.model)}${r === selected ? ' ★' : ''}</td><td>${fmt(r.sampled.hr)}${vsPop}</td><td>${fmt(r.sampled.ndcg)}</td><td>${fmt(r.sampled.mrr)}</td><td>${fmt(r.sampled.auc)}</td>
<td>${r.validation ? `${fmt(r.validation.hr)} / ${fmt(r.validation.ndcg)}` : ''}</td>
<td>${fr ? fr.recall.toFixed(4) : ''}</td><td>${fr ? fr.ndcg.toFixed(4) : ''}</td><td>${fr ? fr.map.toFixed(4) : ''}</td><td>${fr ? fr.coverage.toFixed(4) : ''}</td>
<td>${cold}</td><td>${r.fit.epochs}</td><td>${r.fit.seconds.toFixed(1)}</td><td>${r.sizeBytes !== undefined ? (r.sizeBytes / 1e6).toFixed(2) : ''}</td><td>${r.fit.samplesPerSecond > 0 ? Math.round(r.fit.samplesPerSecond) : '–'}</td><td>${esc(r.backend)}</td>
<td class="diag">${r.testSelected ? `${r.testSelected.epoch}: ${fmt(r.testSelected.hr)} / ${fmt(r.testSelected.ndcg)}` : ''}</td></tr>`;
    })
    .join('\n');
  const withHistory = results.filter((r) => r.history.length > 0);
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Pulse recommender report</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}figure{display:inline-block;margin:1em}.diag{color:#888}</style></head><body>
<h1>Recommender evaluation</h1>
<p>Source: <code>${esc(source)}</code>, split: ${esc(protocol)}. Sampled metrics: the held-out item among its sampled negatives (1 + N). Full-rank metrics: all items not seen in training are candidates.
Sampled and full-rank metrics can order models differently (Krichene &amp; Rendle 2020), so both are shown.
Headline figures are each model's test metrics at its last epoch with fixed settings; models are compared and chosen on the validation hold-out
(each user's latest training interaction, the same settings trained without it). The last column chooses the epoch on the test split: a diagnostic, not a result.
Cold start: items held out entirely from training, each user's latest held-out item ranked among 99 other held-out items.</p>
${selected ? `<p>Chosen on validation: <b>${esc(selected.model)}</b> (validation HR@10 ${fmt(selected.validation?.hr)}), test HR@10 ${fmt(selected.sampled.hr)}, NDCG@10 ${fmt(selected.sampled.ndcg)}.</p>` : ''}
${ensemble && bestSingle ? `<p>Stacking: the ensemble's test HR@10 ${fmt(ensemble.sampled.hr)} against ${fmt(bestSingle.sampled.hr)} of the best single model on validation (${esc(bestSingle.model)}): ${ensemble.sampled.hr > bestSingle.sampled.hr ? 'better' : 'not better'}.</p>` : ''}
<table><tr><th>model</th><th>HR@10 (vs ItemPop)</th><th>NDCG@10</th><th>MRR</th><th>AUC</th><th>validation HR@10 / NDCG@10</th><th>full recall@10</th><th>full NDCG@10</th><th>full MAP@10</th><th>coverage</th><th>cold start HR@10 / NDCG@10</th><th>epochs</th><th>train s</th><th>size MB</th><th>samples/s</th><th>backend</th><th class="diag">diagnostic: test-selected epoch: ${curve} / NDCG</th></tr>
${rows}</table>
${coldBaselines.map((b) => `<p>Cold-start reference, ${esc(b.model)}: HR@10 ${fmt(b.hr)} / NDCG@10 ${fmt(b.ndcg)} (${esc(b.note)}). ItemPop, the serving fallback, cannot rank items it has never seen (all score 0).</p>`).join('')}
${
  ratings.length > 0
    ? `<h2>Explicit ratings</h2><p>The recommenders learn from implicit feedback and predict no ratings; these rating predictors give MAE and RMSE on the same held-out interactions.</p>
<table><tr><th>predictor</th><th>fold</th><th>MAE</th><th>RMSE</th><th>ratings</th></tr>${ratings
        .map(
          (m) =>
            `<tr><td>${esc(m.model)}</td><td>${m.fold ?? ''}</td><td>${m.mae.toFixed(4)}</td><td>${m.rmse.toFixed(4)}</td><td>${m.ratings}</td></tr>`,
        )
        .join('')}</table>`
    : ''
}
${lineChart(
  'training loss per epoch',
  withHistory.map((r) => ({ name: r.model, points: r.history.map((h) => [h.epoch, h.loss] as [number, number]) })),
)}
${lineChart(
  `${curve} per epoch on ${curveOn}`,
  withHistory.map((r) => ({ name: r.model, points: r.history.map((h) => [h.epoch, h.hr] as [number, number]) })),
)}
${
  protocol === 'leave-one-out'
    ? barChart(
        'HR@10 per model',
        results.map((r) => ({ name: r.model, value: r.sampled.hr })),
      )
    : ''
}
${
  protocol === 'leave-one-out'
    ? barChart(
        'NDCG@10 per model',
        results.map((r) => ({ name: r.model, value: r.sampled.ndcg })),
      )
    : ''
}
${barChart(
  'full-rank recall@10 per model',
  results.filter((r) => r.fullRank).map((r) => ({ name: r.model, value: r.fullRank?.recall ?? 0 })),
)}
</body></html>`;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, html);
}
