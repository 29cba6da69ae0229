import type * as tfTypes from '@tensorflow/tfjs';
import { tfLoaded, type Tf } from '../tf/tf-backend';
import type { NcfConfig } from './ncf.config';

export type Tensor = tfTypes.Tensor;
// Ranks are checked at run time by TF.js; one tensor type keeps the passes readable.
export type Tensor1D = tfTypes.Tensor;
export type Tensor2D = tfTypes.Tensor;

/** A dense parameter of the network: where it sits in the flat parameter vector. */
export interface DenseSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** The forward pass of a batch, with what its backward pass needs. */
export interface ForwardPass {
  logits: Tensor1D;
  /** GMF: the user and item parts of the rows and their product (without a GMF part: undefined). */
  gu?: Tensor2D;
  gi?: Tensor2D;
  gmf?: Tensor2D;
  /** MLP: the tower's input, then the output of each hidden layer (after dropout); empty without an MLP part. */
  hs: Tensor2D[];
  /** The dropout mask of each hidden layer, already scaled by 1 / (1 − dropout); undefined without dropout. */
  masks: (Tensor2D | undefined)[];
  /** The output layer's input (MF has none: its logit is the sum of the GMF product). */
  features?: Tensor2D;
}

/**
 * The shape of an MF, GMF, MLP or NeuMF network (He et al. 2017) and its forward pass: one embedding row per
 * user and per item ([gmf | mlp] parts), the dense weights as one flat vector cut into `slots`.
 */
export class NcfNetwork {
  readonly gmfDim: number;
  readonly mlpDim: number;
  readonly rowDim: number;
  readonly slots: DenseSlot[];
  readonly denseSize: number;

  constructor(readonly config: NcfConfig) {
    const usesGmf = config.kind !== 'mlp';
    const usesMlp = config.kind === 'mlp' || config.kind === 'neumf';
    this.gmfDim = usesGmf ? config.factors : 0;
    this.mlpDim = usesMlp ? config.layers[0] / 2 : 0;
    this.rowDim = this.gmfDim + this.mlpDim;
    const slots: DenseSlot[] = [];
    let offset = 0;
    const add = (name: string, shape: number[]) => {
      const size = shape.reduce((a, b) => a * b, 1);
      slots.push({ name, shape, offset, size });
      offset += size;
    };
    if (usesMlp) {
      for (let l = 1; l < config.layers.length; l++) {
        add(`mlp_${l}/kernel`, [config.layers[l - 1], config.layers[l]]);
        add(`mlp_${l}/bias`, [config.layers[l]]);
      }
    }
    const outIn = (usesGmf && config.kind !== 'mf' ? config.factors : 0) + (usesMlp ? config.layers[config.layers.length - 1] : 0);
    if (config.kind !== 'mf') add('prediction/kernel', [outIn, 1]);
    add('prediction/bias', [1]);
    this.slots = slots;
    this.denseSize = offset;
  }

  private get tf(): Tf {
    return tfLoaded().tf;
  }

  slotIndex(name: string): number {
    const k = this.slots.findIndex((s) => s.name === name);
    if (k < 0) throw new Error(`no dense parameter ${name}`);
    return k;
  }

  slot(name: string): DenseSlot {
    return this.slots[this.slotIndex(name)];
  }

  /** Logits of B (user row, item row) pairs given their embedding rows and the dense parameters (in `slots` order). */
  forward(ue: Tensor2D, ie: Tensor2D, params: Tensor[], training: boolean): Tensor1D {
    return this.forwardPass(ue, ie, params, training).logits;
  }

  /** The forward pass, keeping its intermediate values; dropout (inverted, by masks) only when `training`. */
  forwardPass(ue: Tensor2D, ie: Tensor2D, params: Tensor[], training: boolean): ForwardPass {
    const { tf } = this;
    const { dropout, layers } = this.config;
    const n = ue.shape[0];
    const G = this.gmfDim;
    const M = this.mlpDim;
    let gu: Tensor2D | undefined;
    let gi: Tensor2D | undefined;
    let gmf: Tensor2D | undefined;
    if (G > 0) {
      gu = M > 0 ? ue.slice([0, 0], [n, G]) : ue;
      gi = M > 0 ? ie.slice([0, 0], [n, G]) : ie;
      gmf = tf.mul(gu, gi);
    }
    const hs: Tensor2D[] = [];
    const masks: (Tensor2D | undefined)[] = [];
    if (M > 0) {
      let h: Tensor2D = G > 0 ? tf.concat([ue.slice([0, G], [n, M]), ie.slice([0, G], [n, M])], 1) : tf.concat([ue, ie], 1);
      hs.push(h);
      for (let l = 1; l < layers.length; l++) {
        h = this.hiddenLayer(h, l, params);
        let mask: Tensor2D | undefined;
        if (training && dropout > 0) {
          mask = tf.div(tf.step(tf.sub(tf.randomUniform(h.shape), dropout)), 1 - dropout) as Tensor2D;
          h = tf.mul(h, mask);
        }
        masks.push(mask);
        hs.push(h);
      }
    }
    const { logits, features } = this.output(gmf, M > 0 ? hs[hs.length - 1] : undefined, params, n);
    return { logits, gu, gi, gmf, hs, masks, features };
  }

  /** Hidden layer `l` (1-based) of the MLP tower: relu(h · kernel + bias). */
  hiddenLayer(h: Tensor2D, l: number, params: Tensor[]): Tensor2D {
    const { tf } = this;
    return tf.relu(tf.add(tf.matMul(h, params[this.slotIndex(`mlp_${l}/kernel`)] as Tensor2D), params[this.slotIndex(`mlp_${l}/bias`)]));
  }

  /** The output layer over n rows of GMF product and/or last MLP layer: the logits, and its input. */
  output(gmf: Tensor2D | undefined, mlp: Tensor2D | undefined, params: Tensor[], n: number): { logits: Tensor1D; features?: Tensor2D } {
    const { tf } = this;
    const bias = params[this.slotIndex('prediction/bias')];
    if (this.config.kind === 'mf') return { logits: tf.add(tf.sum(gmf as Tensor2D, 1), bias) };
    const features = gmf && mlp ? tf.concat([gmf, mlp], 1) : ((gmf ?? mlp) as Tensor2D);
    const kernel = params[this.slotIndex('prediction/kernel')] as Tensor2D;
    return { logits: tf.add(tf.matMul(features, kernel).reshape([n]), bias), features };
  }
}
