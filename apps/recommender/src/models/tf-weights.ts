import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { tfLoaded } from '../tf/tf-backend';

/** One weights group of a TF.js weights manifest (the `weightsManifest` entry of a model.json). */
interface WeightsGroup {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: 'float32' }[];
}

/**
 * Named float32 tensors in TF.js's weights format: `<prefix>.weights.bin` (the tensors' values one after the
 * other, little-endian float32, as `tf.io.encodeWeights` lays them out) and `<prefix>.weights.json` (the weights
 * manifest: name, shape and dtype of each), which `tf.io.decodeWeights` or `tf.loadLayersModel`'s weight loading
 * read on any backend. Written by hand: encodeWeights checks typed arrays with `instanceof`, which fails when
 * the arrays come from another realm (tfjs-node under Jest).
 */
/** A weight as host values and its shape. */
export interface WeightArray {
  values: Float32Array;
  shape: number[];
}

export function saveTfWeights(dir: string, prefix: string, tensors: Record<string, tfTypes.Tensor>): void {
  saveWeightArrays(
    dir,
    prefix,
    Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, { values: t.dataSync() as Float32Array, shape: t.shape }])),
  );
}

/** The same format from host arrays (models trained without TF.js tensors). */
export function saveWeightArrays(dir: string, prefix: string, weights: Record<string, WeightArray>): void {
  const group: WeightsGroup = { paths: [`${prefix}.weights.bin`], weights: [] };
  const parts: Buffer[] = [];
  for (const [name, { values: v, shape }] of Object.entries(weights)) {
    const values = Float32Array.from(v);
    parts.push(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    group.weights.push({ name, shape, dtype: 'float32' });
  }
  writeFileSync(join(dir, `${prefix}.weights.bin`), Buffer.concat(parts));
  writeFileSync(join(dir, `${prefix}.weights.json`), JSON.stringify([group]));
}

export function loadTfWeights(dir: string, prefix: string): Record<string, tfTypes.Tensor> {
  const { tf } = tfLoaded();
  return Object.fromEntries(
    Object.entries(loadWeightArrays(dir, prefix)).map(([name, { values, shape }]) => [name, tf.tensor(values, shape)]),
  );
}

export function loadWeightArrays(dir: string, prefix: string): Record<string, WeightArray> {
  const [group] = JSON.parse(readFileSync(join(dir, `${prefix}.weights.json`), 'utf8')) as WeightsGroup[];
  const b = readFileSync(join(dir, group.paths[0]));
  const all = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
  const out: Record<string, WeightArray> = {};
  let offset = 0;
  for (const w of group.weights) {
    const size = w.shape.reduce((a, c) => a * c, 1);
    out[w.name] = { values: all.slice(offset, offset + size), shape: w.shape };
    offset += size;
  }
  return out;
}
