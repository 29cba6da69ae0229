import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from './tf-backend';

type Tensor = tfTypes.Tensor;
type Save = tfTypes.GradSaveFunc;

/**
 * Layer norm over the last axis, (x − mean) / sqrt(var + eps) · gamma + beta, with its gradient written out
 * (tf.customGrad): the tape of the same composed ops (moments, subtract, divide, square root) runs ~30
 * kernels over x's size backwards, this 11 (tf-ops.spec.ts checks the two agree).
 */
export function layerNorm(tf: Tf, x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-8): Tensor {
  const norm = tf.customGrad((...args: (Tensor | Save)[]) => {
    const [input, g, b] = args as Tensor[];
    const save = args[3] as Save;
    const centred = tf.sub(input, tf.mean(input, -1, true));
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), eps));
    const xhat = tf.mul(centred, rstd);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: Tensor, [xh, rs, gs]: Tensor[]) => {
        const axes = Array.from({ length: dy.rank - 1 }, (_, k) => k);
        const dxhat = tf.mul(dy, gs);
        const dx = tf.mul(rs, tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xh, tf.mean(tf.mul(dxhat, xh), -1, true))));
        return [dx, tf.sum(tf.mul(dy, xh), axes), tf.sum(dy, axes)];
      },
    };
  });
  return norm(x, gamma, beta);
}

/**
 * ReLU whose gradient is dy · [y > 0] in three kernels: tfjs-node's own (its Step kernel) builds a NaN test,
 * two filled tensors and two selects of the input's size.
 */
export function relu(tf: Tf, x: Tensor): Tensor {
  const op = tf.customGrad((...args: (Tensor | Save)[]) => {
    const y = tf.relu(args[0] as Tensor);
    (args[1] as Save)([y]);
    return { value: y, gradFunc: (dy: Tensor, [saved]: Tensor[]) => tf.mul(dy, tf.cast(tf.greater(saved, 0), 'float32')) };
  });
  return op(x);
}
