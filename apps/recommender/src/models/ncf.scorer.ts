import { tfLoaded } from '../tf/tf-backend';
import type { NcfNetwork, Tensor, Tensor2D } from './ncf.network';

/**
 * Scores of (user, item) pairs: the network's forward pass over their rows of `table` (user rows first,
 * then item rows), 16,384 pairs at a time.
 */
export function scorePairs(
  network: NcfNetwork,
  table: Tensor2D,
  params: Tensor[],
  numUsers: number,
  users: Int32Array,
  items: Int32Array,
): Float32Array {
  const { tf } = tfLoaded();
  const out = new Float32Array(users.length);
  const chunk = 16384;
  for (let start = 0; start < users.length; start += chunk) {
    const end = Math.min(users.length, start + chunk);
    const scores = tf.tidy(() => {
      const u = tf.gather(table, tf.tensor1d(users.subarray(start, end), 'int32'));
      const i = tf.gather(table, tf.add(tf.tensor1d(items.subarray(start, end), 'int32'), tf.scalar(numUsers, 'int32')));
      return network.forward(u, i, params, false);
    });
    out.set(scores.dataSync() as Float32Array, start);
    scores.dispose();
  }
  return out;
}

/**
 * Scores of every item for one user without re-running the network per item: the item-side part of the
 * first MLP layer (item embedding · its half of the kernel + bias) and the item GMF embeddings are
 * computed once per set of weights; a user adds their half and runs the rest of the tower over all items.
 */
export class NcfItemScorer {
  private readonly user: Tensor2D;
  private readonly itemGmf?: Tensor2D;
  private readonly itemMlpA?: Tensor2D;

  constructor(
    private readonly network: NcfNetwork,
    table: Tensor2D,
    params: Tensor[],
    numUsers: number,
    private readonly numItems: number,
  ) {
    const { tf } = tfLoaded();
    const { gmfDim, mlpDim, rowDim } = network;
    const parts = tf.tidy(() => {
      const user = table.slice([0, 0], [numUsers, rowDim]);
      const items = table.slice([numUsers, 0], [numItems, rowDim]);
      const itemGmf = gmfDim > 0 ? items.slice([0, 0], [numItems, gmfDim]) : undefined;
      let itemMlpA: Tensor2D | undefined;
      if (mlpDim > 0) {
        const k1 = params[network.slotIndex('mlp_1/kernel')];
        const b1 = params[network.slotIndex('mlp_1/bias')];
        itemMlpA = tf.add(
          tf.matMul(items.slice([0, gmfDim], [numItems, mlpDim]), k1.slice([mlpDim, 0], [mlpDim, network.config.layers[1]])),
          b1,
        );
      }
      return { user, itemGmf, itemMlpA };
    });
    this.user = parts.user;
    this.itemGmf = parts.itemGmf;
    this.itemMlpA = parts.itemMlpA;
  }

  /** The scores of every item for `user`, with the dense parameters `params`. */
  scoreUser(user: number, params: Tensor[]): Float32Array {
    const { tf } = tfLoaded();
    const { network } = this;
    const { gmfDim, mlpDim, rowDim } = network;
    const scores = tf.tidy(() => {
      const u = this.user.slice([user, 0], [1, rowDim]);
      let gmf: Tensor2D | undefined;
      let mlp: Tensor2D | undefined;
      if (gmfDim > 0 && this.itemGmf) gmf = tf.mul(this.itemGmf, u.slice([0, 0], [1, gmfDim]));
      if (mlpDim > 0 && this.itemMlpA) {
        const layers = network.config.layers;
        const k1 = params[network.slotIndex('mlp_1/kernel')] as Tensor2D;
        const userPart = tf.matMul(u.slice([0, gmfDim], [1, mlpDim]), k1.slice([0, 0], [mlpDim, layers[1]]));
        let h = tf.relu(tf.add(this.itemMlpA, userPart)) as Tensor2D;
        for (let l = 2; l < layers.length; l++) h = network.hiddenLayer(h, l, params);
        mlp = h;
      }
      return network.output(gmf, mlp, params, this.numItems).logits;
    });
    const result = scores.dataSync() as Float32Array;
    scores.dispose();
    return result;
  }

  dispose(): void {
    this.user.dispose();
    this.itemGmf?.dispose();
    this.itemMlpA?.dispose();
  }
}
