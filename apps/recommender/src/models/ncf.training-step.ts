import { tfLoaded } from '../tf/tf-backend';
import type { NcfNetwork, Tensor, Tensor1D, Tensor2D } from './ncf.network';

/** Phases of one training step (milliseconds, summed over steps) when `NcfModel.phases` is set. */
export type StepPhases = Record<
  'gatherRows' | 'forward' | 'lossInJs' | 'backward' | 'downloadGradients' | 'sparseRowAdam' | 'denseAdam',
  number
>;

/** What one training step computes for a batch of B pairs (a type, not an interface: tf.tidy returns it). */
export type BatchGradients = {
  /** The mean binary cross-entropy of the batch. */
  loss: number;
  /** Gradients of the batch's user rows, then of its item rows: [2B, rowDim]. */
  rows: Tensor2D;
  /** Gradients of the dense parameters, flat in `slots` order. */
  dense: Tensor1D;
};

/**
 * The training forward pass and its backward pass written out by hand: the gradients of the mean
 * binary cross-entropy with respect to the batch's user rows and item rows (stacked, [2B, rowDim]) and
 * to the flat dense parameters. The logits come back to JS, where the loss and its derivative are a few
 * float operations instead of eight kernel calls. Autodiff (tf.valueAndGrads) computes the same values
 * with about twice the kernel calls and its tape bookkeeping; `ncf.model.spec.ts` checks the two agree.
 */
export function forwardBackward(
  network: NcfNetwork,
  ue: Tensor2D,
  ie: Tensor2D,
  params: Tensor[],
  labels: Float32Array,
  lap: (phase: keyof StepPhases) => void = () => undefined,
): BatchGradients {
  const { tf } = tfLoaded();
  const { kind, layers } = network.config;
  const n = ue.shape[0];
  const G = network.gmfDim;
  const M = network.mlpDim;
  const param = (name: string) => params[network.slotIndex(name)];
  const { logits, gu, gi, gmf, hs, masks, features } = network.forwardPass(ue, ie, params, true);
  const mlp = M > 0 ? hs[hs.length - 1] : undefined;
  lap('forward');
  // Loss: mean(softplus(x) − x·y); d loss / d logit = (sigmoid(x) − y) / n.
  const z = logits.dataSync() as Float32Array;
  const dl = new Float32Array(n);
  let lossSum = 0;
  let biasGrad = 0;
  for (let k = 0; k < n; k++) {
    const x = z[k];
    const y = labels[k];
    lossSum += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
    const g = (1 / (1 + Math.exp(-x)) - y) / n;
    dl[k] = g;
    biasGrad += g;
  }
  lap('lossInJs');
  const d2 = tf.tensor2d(dl, [n, 1]);
  const grads: Record<string, Tensor> = { 'prediction/bias': tf.tensor1d([biasGrad]) };
  let dGmf: Tensor2D | undefined;
  let dMlp: Tensor2D | undefined;
  if (kind === 'mf') {
    dGmf = tf.mul(tf.ones([1, G]), d2);
  } else {
    grads['prediction/kernel'] = tf.matMul(features as Tensor2D, d2, true, false);
    const dFeatures = tf.matMul(d2, param('prediction/kernel') as Tensor2D, false, true);
    if (gmf && mlp) {
      dGmf = dFeatures.slice([0, 0], [n, G]);
      dMlp = dFeatures.slice([0, G], [n, (dFeatures.shape[1] as number) - G]);
    } else if (gmf) dGmf = dFeatures;
    else dMlp = dFeatures;
  }
  let dUserMlp: Tensor2D | undefined;
  let dItemMlp: Tensor2D | undefined;
  if (dMlp) {
    let dh = dMlp;
    for (let l = layers.length - 1; l >= 1; l--) {
      const out = hs[l];
      let dz = tf.mul(dh, tf.step(out));
      const mask = masks[l - 1];
      if (mask) dz = tf.mul(dz, mask);
      grads[`mlp_${l}/kernel`] = tf.matMul(hs[l - 1], dz, true, false);
      grads[`mlp_${l}/bias`] = tf.sum(dz, 0);
      dh = tf.matMul(dz, param(`mlp_${l}/kernel`) as Tensor2D, false, true);
    }
    dUserMlp = dh.slice([0, 0], [n, M]);
    dItemMlp = dh.slice([0, M], [n, M]);
  }
  let dU: Tensor2D;
  let dI: Tensor2D;
  if (dGmf && dUserMlp && dItemMlp) {
    dU = tf.concat([tf.mul(dGmf, gi as Tensor2D), dUserMlp], 1);
    dI = tf.concat([tf.mul(dGmf, gu as Tensor2D), dItemMlp], 1);
  } else if (dGmf) {
    dU = tf.mul(dGmf, gi as Tensor2D);
    dI = tf.mul(dGmf, gu as Tensor2D);
  } else {
    dU = dUserMlp as Tensor2D;
    dI = dItemMlp as Tensor2D;
  }
  const dense = tf.concat(network.slots.map((s) => (s.shape.length === 1 ? grads[s.name] : grads[s.name].reshape([s.size])))) as Tensor1D;
  const rows = tf.concat([dU, dI], 0);
  lap('backward');
  return { loss: lossSum / n, rows, dense };
}
