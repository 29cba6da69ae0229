import { readItemAttributes } from '../../data/item-attributes';
import { evaluateSampled } from '../../eval/metrics';
import { parseModelList, prepare, specLabel, trainModel } from '../../eval/experiment';
import { PAPER_DEFAULTS } from '../../models/ncf.model';
import { ModelRegistry } from '../../registry/model-registry';
import { splitOptions, TRAINING_FLAGS, trainingSettings } from '../cli-flags';
import type { Command, CommandContext } from '../command';
import { progress } from '../progress';
import { excludeErased } from '../../privacy/train-exclusion';
import { modelsDir } from './registry.commands';

async function train({ values: v, arg, log }: CommandContext): Promise<number> {
  if (!v.model) throw new Error('train: --model is required');
  const [spec] = parseModelList(v.model);
  const data = await prepare(await excludeErased(arg(), v, log), splitOptions(v));
  const settings = trainingSettings(v);
  const { model, fit } = await trainModel(spec, data.train, progress(specLabel(spec), false), settings);
  const metrics = evaluateSampled(model, data.split);
  const registry = new ModelRegistry(modelsDir(v));
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

export const trainCommand: Command = {
  name: 'train',
  usage: [
    'train <source> --model <name> [--models-dir dir] [--promote] [--item-metadata movies.csv] [--exclude-erased brokers [--subject-key key]]',
    "    train one model on the source's training part, evaluate it and register it as a new version;",
    '    --item-metadata keeps MovieLens item metadata (movies.csv, movies.dat, u.item: genre, year) for Recommend filters;',
    '    --exclude-erased leaves out the users of the erasure list read from those Kafka brokers (key: --subject-key)',
  ],
  flags: ['model', 'models-dir', 'promote', 'item-metadata', 'negatives', 'exclude-erased', 'subject-key', ...TRAINING_FLAGS],
  arg: '<source>',
  tf: true,
  run: train,
};
