import { experimentsV1 } from '@pulse/contracts';
import type { UnaryClient } from '@pulse/platform';

const { ExperimentStatus, Metric, ServingStrategy, Verdict } = experimentsV1;

export const USAGE = `usage: experiments-cli <command> [options]   (EXPERIMENTS_GRPC_ADDR, default 127.0.0.1:50058)
  create --name NAME --layer LAYER --traffic PERCENT --variant NAME:WEIGHT:TREATMENT[:control] ... --primary METRIC
         [--guardrail METRIC ...] [--id ID] [--description TEXT] [--salt SALT] [--bucket-start N]
         [--alpha A] [--sequential] [--sequential-tuning N] [--no-cuped] [--cuped-lookback-days N]
         TREATMENT: model=<version> | strategy=promoted | strategy=popular
         METRIC: ctr, engagements_per_user, conversion, hide_rate, dwell_per_user, clicks_per_user
  start ID
  stop ID [--reason TEXT]
  list [--status draft|running|stopped] [--layer LAYER]
  get ID
  results ID [--version N] [--json]
`;

export interface CommandResult {
  exitCode: number;
  output: string;
}

class UsageError extends Error {}

function metricOf(name: string): number {
  const value = (Metric as unknown as Record<string, number>)[`METRIC_${name.toUpperCase()}`];
  if (value === undefined) throw new UsageError(`unknown metric "${name}"`);
  return value;
}

function variantOf(spec: string) {
  const [name, weight, treatment, control] = spec.split(':');
  if (!name || !weight || !treatment || (control !== undefined && control !== 'control'))
    throw new UsageError(`--variant "${spec}": expected NAME:WEIGHT:TREATMENT[:control]`);
  const [kind, value] = treatment.split('=');
  const variant: Record<string, unknown> = { name, weight: Number(weight), control: control === 'control' };
  if (kind === 'model') variant['modelVersion'] = value;
  else if (kind === 'strategy') {
    const s = (ServingStrategy as unknown as Record<string, number>)[`SERVING_STRATEGY_${(value ?? '').toUpperCase()}`];
    if (s === undefined) throw new UsageError(`--variant "${spec}": strategy is promoted or popular`);
    variant['strategy'] = s;
  } else throw new UsageError(`--variant "${spec}": TREATMENT is model=<version> or strategy=<name>`);
  return variant;
}

function parse(args: readonly string[]) {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const key = a.slice(2);
    const boolean = ['sequential', 'no-cuped', 'json'].includes(key);
    const value = boolean ? 'true' : args[++i];
    if (value === undefined) throw new UsageError(`${a} needs a value`);
    flags.set(key, [...(flags.get(key) ?? []), value]);
  }
  const one = (k: string) => flags.get(k)?.at(-1);
  return { positional, flags, one };
}

const enumName = (e: Record<number, string>, v: number, prefix: string) => (e[v] ?? String(v)).replace(prefix, '').toLowerCase();
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const num = (x: number) => (Math.abs(x) >= 1000 || (Math.abs(x) < 0.001 && x !== 0) ? x.toExponential(3) : x.toFixed(4));

function describe(e: any): string {
  const variants = e.variants
    .map(
      (v: any) =>
        `  ${v.control ? '*' : ' '} ${v.name} ${v.weight} %  ${v.modelVersion ? `model ${v.modelVersion}` : `strategy ${enumName(ServingStrategy, v.strategy, 'SERVING_STRATEGY_')}`}`,
    )
    .join('\n');
  const buckets = e.buckets ? ` buckets [${e.buckets.start}, ${e.buckets.end})` : '';
  return (
    `${e.id}  ${enumName(ExperimentStatus, e.status, 'EXPERIMENT_STATUS_')}  layer ${e.layer} ${e.trafficPercent} %${buckets}\n` +
    `  ${e.name}\n  primary ${enumName(Metric, e.primaryMetric, 'METRIC_')}` +
    `${e.guardrailMetrics.length ? `, guardrails ${e.guardrailMetrics.map((m: number) => enumName(Metric, m, 'METRIC_')).join(', ')}` : ''}\n${variants}\n`
  );
}

function describeResults(r: any): string {
  const lines = [
    `${r.experimentId} at exposures version ${r.tableVersion}: ${enumName(Verdict, r.verdict, 'VERDICT_')} — ${r.verdictReason}`,
    `SRM: chi-square ${num(r.srm.chiSquare)}, p ${num(r.srm.pValue)}${r.srm.mismatch ? '  MISMATCH: verdicts withheld' : ''}`,
    ...r.variants.map(
      (v: any) =>
        `  ${v.control ? '*' : ' '} ${v.name}: ${v.users} users (${pct(v.observedShare)}, weight ${v.weight} %), ${v.exposures} exposures`,
    ),
  ];
  for (const m of r.metrics) {
    lines.push(
      `${enumName(Metric, m.metric, 'METRIC_')}${m.primary ? ' (primary)' : ''}: ${m.variants.map((v: any) => `${v.variant} ${num(v.mean)}`).join(', ')}`,
    );
    for (const c of m.comparisons) {
      const rel = c.relative.available ? `${pct(c.relative.estimate)} [${pct(c.relative.ciLower)}, ${pct(c.relative.ciUpper)}]` : 'n/a';
      const abs = c.absolute.available
        ? `${num(c.absolute.estimate)} [${num(c.absolute.ciLower)}, ${num(c.absolute.ciUpper)}] p ${num(c.absolute.pValue)}`
        : 'n/a';
      lines.push(
        `    ${c.variant}: ${enumName(Verdict, c.verdict, 'VERDICT_')}  abs ${abs}  rel ${rel}${c.cupedApplied ? `  CUPED −${pct(c.varianceReduction)} var` : ''}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Runs one command against ExperimentsService; caller mistakes give exit code 2 and the usage. */
export async function runExperimentsCommand(argv: readonly string[], client: UnaryClient): Promise<CommandResult> {
  const [command, ...rest] = argv;
  try {
    const { positional, flags, one } = parse(rest);
    const id = positional[0] ?? '';
    switch (command) {
      case 'create': {
        const experiment = {
          id: one('id') ?? '',
          name: one('name') ?? '',
          description: one('description') ?? '',
          layer: one('layer') ?? '',
          trafficPercent: Number(one('traffic') ?? 0),
          salt: one('salt') ?? '',
          variants: (flags.get('variant') ?? []).map(variantOf),
          primaryMetric: one('primary') ? metricOf(one('primary')!) : 0,
          guardrailMetrics: (flags.get('guardrail') ?? []).map(metricOf),
          analysis: {
            alpha: Number(one('alpha') ?? 0),
            sequential: one('sequential') === 'true',
            sequentialTuning: Number(one('sequential-tuning') ?? 0),
            cupedDisabled: one('no-cuped') === 'true',
            cupedLookbackDays: Number(one('cuped-lookback-days') ?? 0),
          },
          placement: one('bucket-start') === undefined ? null : { start: Number(one('bucket-start')) },
        };
        return { exitCode: 0, output: describe((await client.call('CreateExperiment', { experiment })).experiment) };
      }
      case 'start':
        return { exitCode: 0, output: describe((await client.call('StartExperiment', { id })).experiment) };
      case 'stop':
        return { exitCode: 0, output: describe((await client.call('StopExperiment', { id, reason: one('reason') ?? '' })).experiment) };
      case 'get':
        return { exitCode: 0, output: describe((await client.call('GetExperiment', { id })).experiment) };
      case 'list': {
        const status = one('status');
        const value = status ? (ExperimentStatus as unknown as Record<string, number>)[`EXPERIMENT_STATUS_${status.toUpperCase()}`] : 0;
        if (value === undefined) throw new UsageError(`unknown status "${status}"`);
        const { experiments } = await client.call('ListExperiments', { status: value, layer: one('layer') ?? '' });
        return { exitCode: 0, output: experiments.map(describe).join('') || 'no experiments\n' };
      }
      case 'results': {
        const { results } = await client.call('GetResults', { id, tableVersion: Number(one('version') ?? 0) });
        return { exitCode: 0, output: one('json') ? `${JSON.stringify(results)}\n` : describeResults(results) };
      }
      default:
        return { exitCode: 2, output: USAGE };
    }
  } catch (error) {
    if (error instanceof UsageError) return { exitCode: 2, output: `${error.message}\n${USAGE}` };
    const e = error as { code?: number; details?: string; message: string };
    if (e.code !== undefined) return { exitCode: 1, output: `error: ${e.details ?? e.message}\n` };
    throw error;
  }
}
