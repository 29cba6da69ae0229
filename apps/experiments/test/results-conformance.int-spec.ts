import { DeltaTable, LocalLakeStorage } from '@pulse/lake';
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dropSchema, experimentBody, fakeRecommender, newRun, startExperiments, type TestApp } from './experiments-test-kit';

// GetResults over a lake written here (experiments/exposures as etl writes it, bronze/activity for CUPED's
// pre-period) against GrowthBook's gbstats (tools/experiments/gbstats_results.py, in the venv of
// tools/experiments/python-env.sh) computing from the same per-variant sums, to 1e-6. Where Pulse departs
// from gbstats on purpose (an absolute lift when a variant has no variance), scipy.stats is the reference.

const ROOT = join(__dirname, '..', '..', '..');
const run = newRun();
let recs: Awaited<ReturnType<typeof fakeRecommender>>;
let app: TestApp;

const METRIC = { CTR: 1, ENGAGEMENTS_PER_USER: 2, CONVERSION: 3, HIDE_RATE: 4, DWELL_PER_USER: 5, CLICKS_PER_USER: 6 } as const;
type MetricName = keyof typeof METRIC;
const KIND: Record<MetricName, 'mean' | 'proportion' | 'ratio'> = {
  CTR: 'ratio',
  ENGAGEMENTS_PER_USER: 'mean',
  CONVERSION: 'proportion',
  HIDE_RATE: 'ratio',
  DWELL_PER_USER: 'mean',
  CLICKS_PER_USER: 'mean',
};

/** A deterministic generator (mulberry32), so every run sees the same data. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function poisson(r: () => number, lambda: number): number {
  const l = Math.exp(-lambda);
  let k = 0;
  for (let p = r(); p > l; p *= r()) k++;
  return k;
}

interface Exposure {
  experiment: string;
  variant: string;
  user: string;
  clicks: number;
  likes: number;
  comments: number;
  hides: number;
  dwellMs: number;
  items: number;
}

/** Users of one experiment: variant shares, per-variant effects, pre-period engagement correlated with behaviour. */
function generate(
  experiment: string,
  seed: number,
  variants: { name: string; share: number; lift: number; hides: number }[],
  users: number,
) {
  const r = rng(seed);
  const exposures: Exposure[] = [];
  const pre = new Map<string, number>();
  for (let u = 0; u < users; u++) {
    const user = `${experiment}-u${u}`;
    let x = r();
    const v = variants.find((c) => (x -= c.share) < 0) ?? variants[variants.length - 1];
    const activity = poisson(r, 2);
    if (activity > 0) pre.set(user, activity);
    const lists = 1 + Math.floor(r() * 3);
    for (let l = 0; l < lists; l++) {
      const rate = 0.05 + 0.02 * activity + v.lift;
      const clicks = poisson(r, rate * 10 * 0.5);
      exposures.push({
        experiment,
        variant: v.name,
        user,
        clicks,
        likes: poisson(r, 0.1 + 0.1 * activity + v.lift),
        comments: r() < 0.05 ? 1 : 0,
        hides: r() < v.hides ? 1 : 0,
        dwellMs: Math.round(r() * 4000 * (1 + activity)),
        items: 10,
      });
    }
  }
  return { exposures, pre };
}

/** Per-user values and per-variant sums exactly as apps/experiments/README.md defines the metrics. */
function sums(exposures: Exposure[], pre: Map<string, number>, variant: string, metric: MetricName, cuped: boolean) {
  const users = new Map<string, { items: number; clicks: number; engagements: number; converted: number; hides: number; dwell: number }>();
  for (const e of exposures.filter((x) => x.variant === variant)) {
    const u = users.get(e.user) ?? { items: 0, clicks: 0, engagements: 0, converted: 0, hides: 0, dwell: 0 };
    u.items += e.items;
    u.clicks += e.clicks;
    u.engagements += e.likes + e.comments;
    u.converted = Math.max(u.converted, e.likes + e.comments > 0 ? 1 : 0);
    u.hides += e.hides;
    u.dwell += e.dwellMs / 1000;
    users.set(e.user, u);
  }
  const s = { n: 0, sum: 0, ss: 0, dsum: 0, dss: 0, vd: 0, xsum: 0, xss: 0, vx: 0 };
  for (const [user, u] of users) {
    const value = {
      CTR: u.clicks,
      ENGAGEMENTS_PER_USER: u.engagements,
      CONVERSION: u.converted,
      HIDE_RATE: u.hides,
      DWELL_PER_USER: u.dwell,
      CLICKS_PER_USER: u.clicks,
    }[metric];
    const d = KIND[metric] === 'ratio' ? u.items : 1;
    const x = cuped ? (pre.get(user) ?? 0) : 0;
    s.n++;
    s.sum += value;
    s.ss += value * value;
    s.dsum += d;
    s.dss += d * d;
    s.vd += value * d;
    s.xsum += x;
    s.xss += x * x;
    s.vx += value * x;
  }
  return s;
}

/** Rows of experiments/exposures as etl writes them, served from `from` on, one ms apart. */
function exposureRows(exposures: Exposure[], from: number) {
  const day = new Date(from).toISOString().slice(0, 10);
  return exposures.map((e, i) => ({
    recommendation_id: `${e.experiment}-r${i}`,
    variant: e.variant,
    user_id: e.user,
    served_at: new Date(from + i),
    item_count: e.items,
    impressions: 0,
    views: 0,
    clicks: e.clicks,
    likes: e.likes,
    comments: e.comments,
    shares: 0,
    bookmarks: 0,
    hides: e.hides,
    dwell_ms: e.dwellMs,
    experiment_id: e.experiment,
    served_date: day,
  }));
}

async function writeLake(all: Exposure[], pre: Map<string, number>, startedAt: number) {
  const storage = new LocalLakeStorage(run.lakeRoot);
  const long = (name: string) => ({ name, type: 'long' as const });
  const exposures = await DeltaTable.create(storage, 'experiments/exposures', {
    columns: [
      { name: 'recommendation_id', type: 'string' },
      { name: 'variant', type: 'string' },
      { name: 'user_id', type: 'string' },
      { name: 'served_at', type: 'timestamp' },
      { name: 'item_count', type: 'integer' },
      ...['impressions', 'views', 'clicks', 'likes', 'comments', 'shares', 'bookmarks', 'hides', 'dwell_ms'].map(long),
      { name: 'experiment_id', type: 'string' },
      { name: 'served_date', type: 'date' },
    ],
    partitionColumns: ['experiment_id', 'served_date'],
  });
  const day = new Date(startedAt).toISOString().slice(0, 10);
  // Two commits, so an older version of the table can be asked for.
  const rows = exposureRows(all, startedAt + 60_000);
  await exposures.append(rows.slice(0, 100));
  await exposures.append(rows.slice(100));
  const activity = await DeltaTable.create(storage, 'bronze/activity', {
    columns: [
      { name: 'event_id', type: 'string' },
      { name: 'user_id', type: 'string' },
      { name: 'type', type: 'string' },
      { name: 'occurred_at', type: 'timestamp' },
      { name: 'event_date', type: 'date' },
    ],
    partitionColumns: ['event_date'],
  });
  const events: Record<string, unknown>[] = [];
  const before = startedAt - 2 * 86_400_000;
  for (const [user, n] of pre)
    for (let k = 0; k < n; k++)
      events.push({
        event_id: `${user}-${k}`,
        user_id: user,
        type: k % 2 ? 'LIKE' : 'SHARE',
        occurred_at: new Date(before + k),
        event_date: new Date(before).toISOString().slice(0, 10),
      });
  // Activity that must not count: a view (not an engagement), and a like after the start.
  events.push({
    event_id: 'view',
    user_id: all[0].user,
    type: 'VIEW',
    occurred_at: new Date(before),
    event_date: new Date(before).toISOString().slice(0, 10),
  });
  events.push({ event_id: 'after', user_id: all[0].user, type: 'LIKE', occurred_at: new Date(startedAt + 1000), event_date: day });
  await activity.append(events);
}

function gbstats(input: unknown): any {
  const python = execFileSync('bash', [join(ROOT, 'tools/experiments/python-env.sh')], { encoding: 'utf8' }).trim();
  return JSON.parse(
    execFileSync(python, [join(ROOT, 'tools/experiments/gbstats_results.py')], { input: JSON.stringify(input), encoding: 'utf8' }),
  );
}

function close(actual: number, expected: number) {
  const tolerance = 1e-6 * Math.max(1, Math.abs(expected));
  if (!(Math.abs(actual - expected) <= tolerance)) throw new Error(`${actual} differs from ${expected} by more than ${tolerance}`);
}

const ALL_METRICS = Object.keys(METRIC) as MetricName[];

beforeAll(async () => {
  recs = await fakeRecommender(['v-mf-1']);
  app = await startExperiments(run, recs.address);
}, 180_000);

afterAll(async () => {
  await app?.close();
  await recs?.close();
  await dropSchema(run);
  await rm(run.lakeRoot, { recursive: true, force: true });
});

async function startedExperiment(body: Record<string, unknown>): Promise<number> {
  await app.client.call('CreateExperiment', { experiment: body });
  const started = (await app.client.call('StartExperiment', { id: body.id })).experiment;
  return Number(started.startedAt.seconds) * 1000 + Math.floor(started.startedAt.nanos / 1e6);
}

describe('GetResults against gbstats', () => {
  it('gives the means, variances, lifts, intervals and p-values gbstats gives, with and without CUPED, Welch and sequential', async () => {
    const variants = [
      { name: 'control', weight: 40, control: true, strategy: 1 },
      { name: 'mf', weight: 30, control: false, modelVersion: 'v-mf-1' },
      { name: 'popular', weight: 30, control: false, strategy: 2 },
    ];
    const shares = [
      { name: 'control', share: 0.4, lift: 0, hides: 0.02 },
      { name: 'mf', share: 0.3, lift: 0.03, hides: 0.02 },
      { name: 'popular', share: 0.3, lift: -0.02, hides: 0.05 },
    ];
    const guardrails = ALL_METRICS.filter((m) => m !== 'CTR').map((m) => METRIC[m]);
    const fixed = experimentBody({
      id: `fixed-${run.id}`,
      layer: 'conf-a',
      variants,
      primaryMetric: METRIC.CTR,
      guardrailMetrics: guardrails,
    });
    const seq = experimentBody({
      id: `seq-${run.id}`,
      layer: 'conf-b',
      variants,
      primaryMetric: METRIC.ENGAGEMENTS_PER_USER,
      guardrailMetrics: [METRIC.CTR, METRIC.CONVERSION],
      analysis: { alpha: 0.1, sequential: true, sequentialTuning: 2000, cupedDisabled: true },
    });
    const startedAt = await startedExperiment(fixed);
    await startedExperiment(seq);
    const a = generate(fixed.id as string, 7, shares, 3000);
    const b = generate(seq.id as string, 11, shares, 2000);
    await writeLake([...a.exposures, ...b.exposures], new Map([...a.pre, ...b.pre]), startedAt);

    for (const [body, data, settings] of [
      [fixed, a, { alpha: 0.05, sequential: false, tuning: 5000, cuped: true }],
      [seq, b, { alpha: 0.1, sequential: true, tuning: 2000, cuped: false }],
    ] as const) {
      const { results } = await app.client.call('GetResults', { id: body.id });
      expect(results.srm.mismatch).toBe(false);
      expect(results.variants.map((v: any) => [v.name, Number(v.users)])).toEqual(
        variants.map((v) => [v.name, new Set(data.exposures.filter((e) => e.variant === v.name).map((e) => e.user)).size]),
      );
      const cases = results.metrics.flatMap((m: any) => {
        const name = ALL_METRICS.find((k) => METRIC[k] === m.metric)!;
        return m.comparisons.map((c: any) => ({
          pulse: { metric: m, comparison: c },
          gb: ['plain', 'cuped'].map((mode) => ({
            name: `${name}:${c.variant}:${mode}`,
            kind: KIND[name],
            cuped: mode === 'cuped' && settings.cuped && KIND[name] !== 'ratio',
            alpha: settings.alpha,
            sequential: settings.sequential,
            tuning: settings.tuning,
            control: sums(data.exposures, data.pre, 'control', name, true),
            treatment: sums(data.exposures, data.pre, c.variant, name, true),
          })),
        }));
      });
      const out = gbstats({
        cases: cases.flatMap((c: any) => c.gb),
        srm: [{ users: results.variants.map((v: any) => Number(v.users)), weights: [40, 30, 30] }],
      });
      close(results.srm.pValue, out.srm[0]);
      close(results.srm.pValue, out.srm_scipy[0]);
      let cupedUsed = 0;
      cases.forEach((c: any, i: number) => {
        const [plain, adjusted] = [out.cases[2 * i], out.cases[2 * i + 1]];
        const { metric, comparison } = c.pulse;
        const control = metric.variants[0];
        const treatment = metric.variants.find((v: any) => v.variant === comparison.variant);
        // Per variant, before CUPED.
        close(control.mean, plain.control.mean);
        close(control.variance, plain.control.variance);
        close(treatment.mean, plain.treatment.mean);
        close(treatment.variance, plain.treatment.variance);
        // The comparison: CUPED's θ and adjusted statistics where it applies, the absolute and relative lift.
        expect(comparison.cupedApplied).toBe(adjusted.theta !== 0);
        if (comparison.cupedApplied) {
          cupedUsed++;
          close(comparison.cupedTheta, adjusted.theta);
          close(treatment.adjustedMean, adjusted.treatment.mean);
          close(treatment.adjustedVariance, adjusted.treatment.variance);
          expect(comparison.varianceReduction).toBeGreaterThan(0);
        }
        for (const kind of ['absolute', 'relative'] as const) {
          const p = comparison[kind];
          const g = adjusted[kind];
          expect([c.gb[1].name, kind, p.available]).toEqual([c.gb[1].name, kind, g.available]);
          if (!g.available) continue;
          close(p.estimate, g.estimate);
          close(p.ciLower, g.ci[0]);
          close(p.ciUpper, g.ci[1]);
          close(p.pValue, g.p_value);
        }
      });
      if (settings.cuped) expect(cupedUsed).toBeGreaterThanOrEqual(6);
    }
  });

  it('flags a sample ratio mismatch and withholds every verdict; an absolute lift against a control without variance matches scipy', async () => {
    const variants = [
      { name: 'control', weight: 50, control: true, strategy: 1 },
      { name: 'mf', weight: 50, control: false, modelVersion: 'v-mf-1' },
    ];
    const body = experimentBody({
      id: `srm-${run.id}`,
      layer: 'conf-c',
      variants,
      primaryMetric: METRIC.HIDE_RATE,
      guardrailMetrics: [METRIC.CTR],
    });
    const startedAt = await startedExperiment(body);
    // 55/45 instead of 50/50, and no hide at all in the control.
    const data = generate(
      body.id as string,
      13,
      [
        { name: 'control', share: 0.55, lift: 0, hides: 0 },
        { name: 'mf', share: 0.45, lift: 0.01, hides: 0.05 },
      ],
      4000,
    );
    const storage = new LocalLakeStorage(run.lakeRoot);
    const table = await DeltaTable.open(storage, 'experiments/exposures');
    await table.append(exposureRows(data.exposures, startedAt));
    const { results } = await app.client.call('GetResults', { id: body.id });
    const users = results.variants.map((v: any) => Number(v.users));
    const control = sums(data.exposures, data.pre, 'control', 'HIDE_RATE', false);
    const treatment = sums(data.exposures, data.pre, 'mf', 'HIDE_RATE', false);
    const hide = results.metrics[0];
    const out = gbstats({
      srm: [{ users, weights: [50, 50] }],
      cases: [{ name: 'hide', kind: 'ratio', cuped: false, alpha: 0.05, sequential: false, tuning: 5000, control, treatment }],
      welch: [
        {
          mean1: hide.variants[0].mean,
          std1: Math.sqrt(hide.variants[0].variance),
          n1: users[0],
          mean2: hide.variants[1].mean,
          std2: Math.sqrt(hide.variants[1].variance),
          n2: users[1],
          alpha: 0.05,
        },
      ],
    });
    close(results.srm.pValue, out.srm[0]);
    close(results.srm.pValue, out.srm_scipy[0]);
    expect(results.srm.pValue).toBeLessThan(0.001);
    expect(results.srm.mismatch).toBe(true);
    expect(results.verdict).toBe(4); // VERDICT_WITHHELD
    expect(results.verdictReason).toMatch(/sample ratio mismatch/);
    expect(results.metrics.flatMap((m: any) => m.comparisons.map((c: any) => c.verdict))).toEqual([4, 4]);
    // gbstats gives nothing when the control has no variance; Pulse gives the absolute lift, as scipy's Welch test.
    close(hide.variants[0].mean, 0);
    close(hide.variants[1].mean, out.cases[0].treatment.mean);
    close(hide.variants[1].variance, out.cases[0].treatment.variance);
    expect(out.cases[0].absolute.available).toBe(false);
    const absolute = hide.comparisons[0].absolute;
    expect(absolute.available).toBe(true);
    expect(hide.comparisons[0].relative.available).toBe(false);
    close(absolute.estimate, out.welch[0].estimate);
    close(absolute.ciLower, out.welch[0].ci[0]);
    close(absolute.ciUpper, out.welch[0].ci[1]);
    close(absolute.pValue, out.welch[0].p_value);
    close(absolute.degreesOfFreedom, out.welch[0].dof);
  });

  it('reads an older version of the exposures table when asked (time travel), and refuses a version that does not exist', async () => {
    const latest = (await app.client.call('GetResults', { id: `fixed-${run.id}` })).results;
    const first = (await app.client.call('GetResults', { id: `fixed-${run.id}`, tableVersion: 1 })).results;
    expect(Number(first.tableVersion)).toBe(1);
    const total = (r: any) => r.variants.reduce((s: number, v: any) => s + Number(v.exposures), 0);
    expect(total(first)).toBe(100);
    expect(total(latest)).toBeGreaterThan(100);
    await expect(app.client.call('GetResults', { id: `fixed-${run.id}`, tableVersion: 999 })).rejects.toMatchObject({ code: 5 });
  });
});
