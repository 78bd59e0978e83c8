import { tf } from './engine.js';

/** `grads` with λ·w added to the gradient of each of `variables`: L2 weight decay, other gradients as they are. */
export function withWeightDecay(
  grads: tf.NamedTensorMap,
  variables: readonly tf.Variable[],
  lambda: number,
): tf.NamedTensorMap {
  if (lambda === 0) return grads;
  const out = { ...grads };
  for (const v of variables) {
    const g = grads[v.name];
    if (g) out[v.name] = tf.add(g, tf.mul(v, lambda));
  }
  return out;
}
