import { subset } from '../data/interactions';
import { type ModelName, type TrainingData, trainingData } from '../models/model';
import { HybridModel } from '../models/hybrid.model';
import { createModel, type ModelSettings } from '../models/model-factory';
import { type NcfKind, ncfConfig, NcfModel } from '../models/ncf.model';
import { buildLayersModel } from '../models/ncf.tfjs-format';
import { tfLoaded } from '../tf/tf-backend';
import type { PreparedData } from './experiment';
import { evaluateSampled } from './metrics';

const r = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

function latencies(fn: (k: number) => void, n: number): { p50_ms: number; p99_ms: number } {
  for (let k = 0; k < 10; k++) fn(k);
  const times: number[] = [];
  for (let k = 0; k < n; k++) {
    const t = performance.now();
    fn(k);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50_ms: r(times[Math.floor(n / 2)]), p99_ms: r(times[Math.min(n - 1, Math.floor(n * 0.99))]) };
}

/**
 * What `recs profile` prints: per model, training samples/s at the given settings, ms per step and where
 * a step's time goes; HR@10/NDCG@10 after training; scoring latency for all items of one user (the data's
 * catalogue and a 10,000-item one); optionally the same network trained with the Layers API's
 * trainOnBatch, the usual way, for comparison.
 */
export async function profileTraining(
  data: PreparedData,
  options: { models: string[]; settings: ModelSettings; maxSamples?: number; layersSteps: number },
): Promise<Record<string, unknown>> {
  const { backend, nativeVersion } = tfLoaded();
  let train = data.train;
  if (options.maxSamples !== undefined && options.maxSamples < data.trainInteractions.users.length) {
    train = trainingData(
      subset(
        data.trainInteractions,
        Int32Array.from({ length: options.maxSamples }, (_, k) => k),
      ),
    );
    train.numUsers = data.train.numUsers;
    train.numItems = data.train.numItems;
  }
  const models: Record<string, unknown> = {};
  for (const name of options.models) {
    if (['hybrid', 'sasrec', 'ease', 'ials', 'bpr'].includes(name)) {
      models[name] = await profileZooModel(name as ModelName, train, data, options.settings);
      continue;
    }
    if (!['mf', 'gmf', 'mlp', 'neumf'].includes(name))
      throw new Error(`profile: ${name} is not trained by gradient steps (mf, gmf, mlp, neumf, hybrid, sasrec; ease, ials, bpr)`);
    const model = new NcfModel(ncfConfig(name as NcfKind, options.settings));
    model.phases = { gatherRows: 0, forward: 0, lossInJs: 0, backward: 0, downloadGradients: 0, sparseRowAdam: 0, denseAdam: 0 };
    const cpu0 = process.cpuUsage();
    const fit = await model.fit(train);
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const steps = model.profile.steps;
    const metrics = evaluateSampled(model, data.split);
    const scoring = latencies((k) => model.scoreUser(k % model.numUsers), 200);
    const perStep = Object.fromEntries(Object.entries(model.phases).map(([k, v]) => [k, r(v / steps, 4)]));
    models[name] = {
      samples_per_second: Math.round(fit.samplesPerSecond),
      // Per second of this process's CPU time: steadier than wall time when other work shares the cores.
      samples_per_cpu_second: Math.round(fit.samples / cpuSeconds),
      ms_per_step: r(model.profile.stepMs / steps),
      epochs: fit.epochs,
      samples: fit.samples,
      train_seconds: r(fit.seconds, 2),
      'hr@10': r(metrics.hr, 4),
      'ndcg@10': r(metrics.ndcg, 4),
      where_time_goes: {
        sampling_ms_per_epoch: r(model.profile.samplingMs / fit.epochs, 1),
        step_ms: perStep,
      },
      score_all_items: { items: model.numItems, ...scoring },
    };
    if (options.layersSteps > 0) {
      models[name] = {
        ...(models[name] as object),
        layers_train_on_batch: await layersBaseline(model, options.settings.batchSize ?? 256, options.layersSteps),
      };
    }
    model.dispose();
  }
  // Scoring a 10,000-item catalogue (random weights: latency does not depend on their values).
  const big = new NcfModel(ncfConfig('neumf', options.settings));
  big.initialize(1000, 10_000);
  const bigScoring = latencies((k) => big.scoreUser(k % 1000), 200);
  big.dispose();
  return {
    backend,
    native_version: nativeVersion,
    batch_size: options.settings.batchSize ?? 256,
    users: data.train.numUsers,
    items: data.train.numItems,
    train_interactions: train.users.length,
    models,
    neumf_score_10k_items: { items: 10_000, ...bigScoring },
  };
}

/**
 * A model of the zoo: training samples/s (a sample is one scored (user or position, item) pair, as in the
 * PyTorch anchor), per CPU second, HR@10 after training and the latency of scoring all items for a user.
 */
async function profileZooModel(
  name: ModelName,
  train: TrainingData,
  data: PreparedData,
  settings: ModelSettings,
): Promise<Record<string, unknown>> {
  const model = createModel(name, settings);
  const cpu0 = process.cpuUsage();
  const fit = await model.fit(train);
  const cpu = process.cpuUsage(cpu0);
  const metrics = evaluateSampled(model, data.split);
  const scoring = latencies((k) => model.scoreUser(k % train.numUsers), 200);
  const vocabulary = model instanceof HybridModel ? model.vocabularySize : undefined;
  model.dispose();
  return {
    vocabulary,
    samples_per_second: Math.round(fit.samplesPerSecond),
    samples_per_cpu_second: Math.round(fit.samples / ((cpu.user + cpu.system) / 1e6)),
    epochs: fit.epochs,
    samples: fit.samples,
    train_seconds: r(fit.seconds, 2),
    cpu_seconds: r((cpu.user + cpu.system) / 1e6, 2),
    'hr@10': r(metrics.hr, 4),
    'ndcg@10': r(metrics.ndcg, 4),
    score_all_items: { items: train.numItems, ...scoring },
  };
}

/** The same network as a Layers model trained with compile + trainOnBatch on random batches. */
async function layersBaseline(model: NcfModel, batchSize: number, steps: number): Promise<Record<string, number>> {
  const { tf } = tfLoaded();
  const layers = buildLayersModel(model);
  layers.compile({ optimizer: tf.train.adam(0.001), loss: 'binaryCrossentropy' });
  const step = async () => {
    const [u, i, y] = tf.tidy(() => [
      tf.randomUniform([batchSize, 1], 0, model.numUsers, 'int32'),
      tf.randomUniform([batchSize, 1], 0, model.numItems, 'int32'),
      tf.randomUniform([batchSize, 1]).round(),
    ]);
    await layers.trainOnBatch([u, i], y);
    tf.dispose([u, i, y]);
  };
  for (let k = 0; k < 5; k++) await step();
  const t = performance.now();
  for (let k = 0; k < steps; k++) await step();
  const ms = (performance.now() - t) / steps;
  layers.dispose();
  return { steps, ms_per_step: r(ms), samples_per_second: Math.round(batchSize / (ms / 1000)) };
}
