import { describe, expect, it } from 'vitest';
import { useCpu } from './deep-compression/test-layers.js';
import { tf } from './engine.js';
import { withWeightDecay } from './weight-decay.js';

describe('withWeightDecay', () => {
  it('adds λ·w to the named variables’ gradients and leaves the others alone', async () => {
    await useCpu();
    const w = tf.variable(tf.tensor1d([1, -2, 0.5]), true, 'decay-w');
    const b = tf.variable(tf.tensor1d([3]), true, 'decay-b');
    const grads = { [w.name]: tf.tensor1d([0.1, 0.2, -0.3]), [b.name]: tf.tensor1d([0.4]) };
    const out = withWeightDecay(grads, [w], 0.01);
    const got = await out[w.name]!.data();
    for (const [i, want] of [0.1 + 0.01, 0.2 - 0.02, -0.3 + 0.005].entries())
      expect(got[i]).toBeCloseTo(want, 6);
    expect(out[b.name]).toBe(grads[b.name]);
    expect(withWeightDecay(grads, [w], 0)).toBe(grads);
    tf.dispose([w, b, ...Object.values(grads), out[w.name]!]);
  });
});
