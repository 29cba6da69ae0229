import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { tfLoaded } from '../tf/tf-backend';
import { type NcfConfig, NcfModel } from './ncf.model';

type SymbolicTensor = tfTypes.SymbolicTensor;

/**
 * The network as a TF.js Layers model: inputs `user` and `item` (dense indices, int32, shape [batch, 1]),
 * output the interaction probability. Written as model.json + weights.bin, so `tf.loadLayersModel` (any
 * backend, tfjs-node's `file://` included) loads it and `predict([users, items])` scores pairs.
 */
export function buildLayersModel(model: NcfModel): tfTypes.LayersModel {
  const { tf } = tfLoaded();
  const { config, numUsers, numItems, gmfDim, mlpDim } = model;
  const user = tf.input({ shape: [1], dtype: 'int32', name: 'user' });
  const item = tf.input({ shape: [1], dtype: 'int32', name: 'item' });
  const embed = (input: SymbolicTensor, name: string, rows: number, dim: number) =>
    tf.layers
      .flatten({ name: `${name}_flat` })
      .apply(tf.layers.embedding({ inputDim: rows, outputDim: dim, name }).apply(input)) as SymbolicTensor;
  const parts: SymbolicTensor[] = [];
  if (gmfDim > 0) {
    const u = embed(user, 'user_gmf', numUsers, gmfDim);
    const i = embed(item, 'item_gmf', numItems, gmfDim);
    parts.push(
      config.kind === 'mf'
        ? (tf.layers.dot({ axes: 1, name: 'gmf' }).apply([u, i]) as SymbolicTensor)
        : (tf.layers.multiply({ name: 'gmf' }).apply([u, i]) as SymbolicTensor),
    );
  }
  if (mlpDim > 0) {
    let h = tf.layers
      .concatenate({ name: 'mlp_0' })
      .apply([embed(user, 'user_mlp', numUsers, mlpDim), embed(item, 'item_mlp', numItems, mlpDim)]) as SymbolicTensor;
    for (let l = 1; l < config.layers.length; l++) {
      h = tf.layers.dense({ units: config.layers[l], activation: 'relu', name: `mlp_${l}` }).apply(h) as SymbolicTensor;
    }
    parts.push(h);
  }
  const features = parts.length > 1 ? (tf.layers.concatenate({ name: 'neumf' }).apply(parts) as SymbolicTensor) : parts[0];
  const output = tf.layers.dense({ units: 1, activation: 'sigmoid', name: 'prediction' }).apply(features) as SymbolicTensor;
  const layers = tf.model({ inputs: [user, item], outputs: output, name: config.kind });

  // Our weights into the layers.
  const table = model.tableData();
  const { dense } = model.weights();
  const rowsOf = (first: number, count: number, from: number, width: number) => {
    const out = new Float32Array(count * width);
    for (let r = 0; r < count; r++)
      out.set(table.subarray((first + r) * model.rowDim + from, (first + r) * model.rowDim + from + width), r * width);
    return out;
  };
  const set = (name: string, values: Float32Array[]) => {
    const layer = layers.getLayer(name);
    layer.setWeights(layer.getWeights().map((w, k) => tf.tensor(values[k], w.shape)));
  };
  if (gmfDim > 0) {
    set('user_gmf', [rowsOf(0, numUsers, 0, gmfDim)]);
    set('item_gmf', [rowsOf(numUsers, numItems, 0, gmfDim)]);
  }
  if (mlpDim > 0) {
    set('user_mlp', [rowsOf(0, numUsers, gmfDim, mlpDim)]);
    set('item_mlp', [rowsOf(numUsers, numItems, gmfDim, mlpDim)]);
    for (let l = 1; l < config.layers.length; l++) set(`mlp_${l}`, [dense[`mlp_${l}/kernel`], dense[`mlp_${l}/bias`]]);
  }
  set('prediction', [config.kind === 'mf' ? Float32Array.of(1) : dense['prediction/kernel'], dense['prediction/bias']]);
  return layers;
}

/** Saves `model` as a TF.js Layers model in `dir` (model.json, weights.bin) plus ncf.json (its config). */
export async function saveNcfAsLayersModel(model: NcfModel, dir: string): Promise<void> {
  const { tf } = tfLoaded();
  mkdirSync(dir, { recursive: true });
  const layers = buildLayersModel(model);
  await layers.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData as ArrayBuffer;
      writeFileSync(join(dir, 'weights.bin'), Buffer.from(weightData));
      writeFileSync(
        join(dir, 'model.json'),
        JSON.stringify({
          format: 'layers-model',
          generatedBy: artifacts.generatedBy,
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weightData.byteLength } };
    }),
  );
  layers.dispose();
  writeFileSync(
    join(dir, 'ncf.json'),
    JSON.stringify({ config: model.config, numUsers: model.numUsers, numItems: model.numItems }, null, 2),
  );
}

/** Loads a model saved by `saveNcfAsLayersModel`, through tf.loadLayersModel. */
export async function loadNcfModel(dir: string): Promise<NcfModel> {
  const { tf } = tfLoaded();
  const meta = JSON.parse(readFileSync(join(dir, 'ncf.json'), 'utf8')) as { config: NcfConfig; numUsers: number; numItems: number };
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tfTypes.io.WeightsManifestEntry[] }[];
  };
  const buffers = json.weightsManifest.flatMap((group) => group.paths.map((p) => readFileSync(join(dir, p))));
  const weightData = Buffer.concat(buffers);
  const layers = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
      weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
    }),
  );
  const model = new NcfModel(meta.config);
  const get = (name: string, k = 0) => layers.getLayer(name).getWeights()[k].dataSync() as Float32Array;
  const { numUsers, numItems } = meta;
  const table = new Float32Array((numUsers + numItems) * model.rowDim);
  const put = (values: Float32Array, first: number, count: number, from: number, width: number) => {
    for (let r = 0; r < count; r++) table.set(values.subarray(r * width, (r + 1) * width), (first + r) * model.rowDim + from);
  };
  if (model.gmfDim > 0) {
    put(get('user_gmf'), 0, numUsers, 0, model.gmfDim);
    put(get('item_gmf'), numUsers, numItems, 0, model.gmfDim);
  }
  const dense: Record<string, Float32Array> = {};
  if (model.mlpDim > 0) {
    put(get('user_mlp'), 0, numUsers, model.gmfDim, model.mlpDim);
    put(get('item_mlp'), numUsers, numItems, model.gmfDim, model.mlpDim);
    for (let l = 1; l < meta.config.layers.length; l++) {
      dense[`mlp_${l}/kernel`] = get(`mlp_${l}`, 0);
      dense[`mlp_${l}/bias`] = get(`mlp_${l}`, 1);
    }
  }
  if (meta.config.kind !== 'mf') dense['prediction/kernel'] = get('prediction', 0);
  dense['prediction/bias'] = get('prediction', 1);
  layers.dispose();
  model.setWeights(numUsers, numItems, table, dense);
  return model;
}
