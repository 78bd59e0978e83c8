import { seededRandom } from '@zeroskip/quant';
import { tf } from './engine.js';

/** Seeded uniform values in [lo, hi). */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rand = seededRandom(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
}

/** The values of `f(x)`'s gradient of Σ dy·f(x) at x, via TF.js autodiff. */
export function gradient(
  f: (x: tf.Tensor) => tf.Tensor,
  x: Float32Array,
  shape: number[],
  dy: Float32Array,
): Float32Array {
  return tf.tidy(() => {
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), tf.tensor(dy, shape))))(tf.tensor(x, shape));
    return Float32Array.from(g.dataSync() as Float32Array);
  });
}

/** Central finite differences (float64) of a scalar function of x. */
export function finiteDifferences(h: (x: Float64Array) => number, x: Float32Array, eps = 1e-4): Float64Array {
  const p = Float64Array.from(x);
  return Float64Array.from(x, (_, i) => {
    const v = p[i]!;
    p[i] = v + eps;
    const up = h(p);
    p[i] = v - eps;
    const down = h(p);
    p[i] = v;
    return (up - down) / (2 * eps);
  });
}

export function values(f: () => tf.Tensor): Float32Array {
  return tf.tidy(() => Float32Array.from(f().dataSync() as Float32Array));
}
