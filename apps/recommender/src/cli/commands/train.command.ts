import { LakeEngine } from '@pulse/lake';
import { parseDuration } from '@pulse/platform';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userItems, type UserItems } from '../../data/interactions';
import { type ItemAttributes, readItemAttributes } from '../../data/item-attributes';
import { NoTrainingDataError, parseAsOf, type LakeReadStats, readLakeInteractions, requireEnoughData } from '../../data/lake-interactions';
import { parseModelList, type PreparedData, prepare, prepareInteractions, specLabel, trainModel } from '../../eval/experiment';
import { evaluateFullRank, evaluateSampled } from '../../eval/metrics';
import { evaluateForGate, gateDecision, type GateSettings, parseGateMetric } from '../../eval/quality-gate';
import { parseActionWeights } from '../../live/action-weights';
import type { Recommender } from '../../models/model';
import { PAPER_DEFAULTS } from '../../models/ncf.model';
import { type GateRecord, type ModelRecord, ModelRegistry } from '../../registry/model-registry';
import { num, splitOptions, TRAIN_FLAGS, trainingSettings, type Values } from '../cli-flags';
import type { Command, CommandContext } from '../command';
import { NO_DATA_EXIT } from '../exit-codes';
import { progress } from '../progress';
import { announcePromotion } from '../promotion-notice';
import { modelsDir } from './registry.commands';

/** Defaults of the lake source and the gate (README.md, "Training from the lake"). */
export const LAKE_DEFAULTS = { halfLife: '30d', minWeight: 0, minInteractions: 100, minUsers: 10 };
export const GATE_DEFAULTS: GateSettings = { metric: 'hr@10', margin: 0.005 };

/** What a run trains on: the split, and what the registry keeps beside the model. */
interface TrainingInput {
  data: PreparedData;
  dataSource: 'files' | 'lake';
  tableVersions?: Record<string, number>;
  /** What each user has interacted with, for exclude-seen at serving time. */
  seen: UserItems;
  attributes?: ItemAttributes;
  /** Settings of the data that shaped it, kept with the hyperparameters. */
  dataSettings: Record<string, unknown>;
  stats?: LakeReadStats;
}

/** The summary line of `--json`. */
interface TrainSummary {
  version: string;
  algorithm: string;
  dataSource: 'files' | 'lake';
  tableVersions: Record<string, number>;
  dataFingerprint: string;
  stats?: LakeReadStats;
  metrics: Record<string, number>;
  gate?: GateRecord;
  promoted: boolean;
  /** Whether ModelPromoted was sent; undefined when nothing was promoted. */
  eventSent?: boolean;
}

function count(v: Values, flag: 'min-interactions' | 'min-users', fallback: number): number {
  const n = num(v[flag], flag) ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got "${v[flag]}"`);
  return n;
}

async function lakeInput(ctx: CommandContext): Promise<TrainingInput> {
  const { values: v, log } = ctx;
  const config = ctx.config();
  const halfLife = v['half-life'] ?? LAKE_DEFAULTS.halfLife;
  const halfLifeMs = halfLife.trim() === '0' ? 0 : parseDuration(halfLife);
  if (halfLifeMs === undefined) throw new Error(`--half-life: expected 0 or a duration like 30d, got "${halfLife}"`);
  const minWeight = num(v['min-weight'], 'min-weight') ?? LAKE_DEFAULTS.minWeight;
  const weights = v['action-weights'] === undefined ? config.RECS_ACTION_WEIGHTS : parseActionWeights(v['action-weights']);
  const lakeRoot = v['lake-root'] ?? config.RECS_LAKE_ROOT;
  const cdcSchema = v['cdc-schema'] ?? config.RECS_CDC_SCHEMA;
  const minimum = {
    interactions: count(v, 'min-interactions', LAKE_DEFAULTS.minInteractions),
    users: count(v, 'min-users', LAKE_DEFAULTS.minUsers),
  };
  // Reads larger than memory spill under the temp dir (writable in the container, whose root is read-only).
  const engine = await LakeEngine.create({ tempDirectory: join(tmpdir(), `pulse-recs-duckdb-${process.pid}`) });
  try {
    const lake = await readLakeInteractions(
      { lakeRoot, cdcSchema, asOf: v['as-of'] ? parseAsOf(v['as-of']) : undefined, weights, halfLifeMs, minWeight },
      engine,
    );
    const s = lake.stats;
    log(
      `lake ${lakeRoot} (${Object.entries(lake.tableVersions)
        .map(([path, version]) => `${path}@${version}`)
        .join(', ')}): ${s.events} events (${s.duplicates} duplicates dropped), ${s.pairs} user-post pairs: ` +
        `${s.positives} positives of ${s.users} users on ${s.items} posts; left out ${s.negative} negative, ` +
        `${s.removed} on deleted or non-public posts, ${s.unknown} on posts the posts table does not have`,
    );
    requireEnoughData(s, minimum);
    return {
      data: prepareInteractions(`lake:${lakeRoot}`, lake.interactions, splitOptions(v)),
      dataSource: 'lake',
      tableVersions: lake.tableVersions,
      // Serving leaves out everything a user engaged with, the held-out latest interaction included.
      seen: userItems(lake.interactions),
      attributes: lake.attributes,
      dataSettings: { cdcSchema, actionWeights: weights, halfLife, minWeight },
      stats: s,
    };
  } finally {
    engine.close();
  }
}

async function filesInput({ values: v, arg }: CommandContext): Promise<TrainingInput> {
  const data = await prepare(arg(), splitOptions(v));
  return {
    data,
    dataSource: 'files',
    seen: data.train.byUser,
    attributes: v['item-metadata'] ? await readItemAttributes(v['item-metadata']) : undefined,
    dataSettings: {},
  };
}

function gateSettings(v: Values): GateSettings {
  const margin = num(v['gate-margin'], 'gate-margin') ?? GATE_DEFAULTS.margin;
  if (margin < 0) throw new Error(`--gate-margin must not be negative, got "${v['gate-margin']}"`);
  return { metric: v['gate-metric'] ? parseGateMetric(v['gate-metric']) : GATE_DEFAULTS.metric, margin };
}

/** Scores the candidate beside the promoted version and ItemPop, and writes the decision into its record. */
async function runGate(registry: ModelRegistry, record: ModelRecord, model: Recommender, data: PreparedData, settings: GateSettings) {
  const promotedVersion = registry.state().promoted;
  const promoted = promotedVersion ? await registry.load(promotedVersion) : undefined;
  try {
    const evaluation = await evaluateForGate(model, data, promoted);
    const decision = gateDecision(evaluation, settings);
    registry.update(record.version, (r) => ({ ...r, gate: decision }));
    return { decision, evaluation };
  } finally {
    promoted?.model.dispose();
  }
}

async function train(ctx: CommandContext): Promise<number> {
  const { values: v, log } = ctx;
  if (!v.model) throw new Error('train: --model is required');
  const [spec] = parseModelList(v.model);
  const source = v.source ?? 'files';
  if (source !== 'files' && source !== 'lake') throw new Error(`--source: expected files or lake, got "${source}"`);
  if (source === 'lake' && v['item-metadata'])
    throw new Error('train: --item-metadata is for files; the lake gives posts their tag and author_id');
  const gate = v.gate ? gateSettings(v) : undefined;
  if (gate && v.promote) throw new Error('train: --gate decides whether to promote; drop --promote');
  let input: TrainingInput;
  try {
    input = source === 'lake' ? await lakeInput(ctx) : await filesInput(ctx);
  } catch (error) {
    if (!(error instanceof NoTrainingDataError)) throw error;
    log(`recs train: ${error.message}; nothing registered`);
    return NO_DATA_EXIT;
  }
  const { data } = input;
  const settings = trainingSettings(v);
  const { model, fit } = await trainModel(spec, data.train, progress(specLabel(spec), Boolean(v.json)), settings);
  try {
    const sampled = evaluateSampled(model, data.split);
    const metrics: Record<string, number> = {
      hr_at_10: sampled.hr,
      ndcg_at_10: sampled.ndcg,
      mrr: sampled.mrr,
      auc: sampled.auc,
      samples_per_second: fit.samplesPerSecond,
    };
    if (source === 'lake' || gate) {
      const full = evaluateFullRank(model, data.heldOut, data.train.byUser, data.train.numItems);
      Object.assign(metrics, { recall_at_10: full.recall, full_ndcg_at_10: full.ndcg, map_at_10: full.map, coverage_at_10: full.coverage });
    }
    const registry = new ModelRegistry(modelsDir(ctx));
    let record = await registry.register(
      model,
      {
        metrics,
        dataFingerprint: data.fingerprint,
        dataCutoff: data.cutoff > 0 ? new Date(data.cutoff * 1000).toISOString() : '',
        hyperparameters: { ...PAPER_DEFAULTS, ...settings, model: specLabel(spec), ...input.dataSettings },
        dataSource: input.dataSource,
        tableVersions: input.tableVersions,
      },
      {
        users: data.trainInteractions.userIds,
        items: data.trainInteractions.itemIds,
        popularity: data.train.popularity,
        seen: input.seen,
        attributes: input.attributes,
      },
    );
    log(`registered ${record.version}: HR@10 ${sampled.hr.toFixed(4)} NDCG@10 ${sampled.ndcg.toFixed(4)}`);
    let promote = Boolean(v.promote);
    let reason = 'recs train --promote';
    if (gate) {
      const { decision, evaluation } = await runGate(registry, record, model, data, gate);
      record = registry.get(record.version) ?? record;
      const line = (name: string, s: typeof evaluation.candidate) =>
        `${name} HR@10 ${s.sampled.hr.toFixed(4)} NDCG@10 ${s.sampled.ndcg.toFixed(4)} recall@10 ${s.fullRank.recall.toFixed(4)}`;
      log(
        `gate on ${evaluation.candidate.sampled.users} held-out users: ${line('candidate', evaluation.candidate)}; ` +
          `${evaluation.promoted ? line(`promoted ${evaluation.promoted.version}`, evaluation.promoted) : 'no promoted version'}; ` +
          line('ItemPop', evaluation.baseline),
      );
      log(`gate: ${decision.outcome === 'promoted' ? 'PROMOTED' : 'REFUSED'} ${record.version}: ${decision.reason}`);
      promote = decision.outcome === 'promoted';
      reason = `quality gate: ${decision.reason}`;
    }
    let eventSent: boolean | undefined;
    if (promote) {
      const { previous, at } = registry.promote(record.version, reason);
      log(`promoted ${record.version}${previous ? ` (was ${previous})` : ''}`);
      eventSent = await announcePromotion(
        ctx.config().KAFKA_BROKERS,
        { version: record.version, previous, rollback: false, reason, at },
        log,
      );
    }
    if (v.json) {
      const summary: TrainSummary = {
        version: record.version,
        algorithm: record.algorithm,
        dataSource: input.dataSource,
        tableVersions: input.tableVersions ?? {},
        dataFingerprint: record.dataFingerprint,
        stats: input.stats,
        metrics,
        gate: record.gate,
        promoted: promote,
        eventSent,
      };
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    } else process.stdout.write(`${record.version}\n`);
    return 0;
  } finally {
    model.dispose();
  }
}

export const trainCommand: Command = {
  name: 'train',
  usage: [
    'train <source> --model <name> [--models-dir dir] [--promote | --gate] [--item-metadata movies.csv] [--json]',
    "    train one model on the source's training part, evaluate it and register it as a new version;",
    '    --item-metadata keeps MovieLens item metadata (movies.csv, movies.dat, u.item: genre, year) for Recommend filters',
    'train --source lake --model <name> [--lake-root dir] [--cdc-schema public] [--as-of path=version,...]',
    '      [--action-weights like=3,hide=-6] [--half-life 30d] [--min-weight 0] [--min-interactions 100] [--min-users 10]',
    "    train on the platform's activity: bronze/activity on posts and bronze/cdc/<schema>.posts of the lake",
    '    (RECS_LAKE_ROOT), each action weighted by type (RECS_ACTION_WEIGHTS) and halved every --half-life of age;',
    '    --as-of reads the table versions a version recorded (time travel); exit code 3: nothing to train on',
    '  --gate [--gate-metric hr@10|ndcg@10] [--gate-margin 0.005]',
    '    promote only when the new version beats the promoted one by the margin and ItemPop on the temporal hold-out',
  ],
  flags: TRAIN_FLAGS,
  arg: '<source>',
  tf: true,
  run: train,
};
