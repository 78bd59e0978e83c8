import type { GraphNode } from '../graph.js';
import { float32, type Tensor } from '../tensor.js';
import { randomTensor, uniform } from './random.js';

/**
 * `x` [N, c, H, W] → BatchNormalization → binary QuantConv (sign activations, 3×3, pad 1, float
 * output) to `o` channels, written to 'y': seeded, γ of both signs, and 0 (a constant sign) on every
 * `zeroEvery`th channel.
 */
export function bnBinaryConv(
  x: string,
  c: number,
  o: number,
  seed: number,
  zeroEvery: number,
): { nodes: GraphNode[]; initializers: [string, Tensor][] } {
  const gamma = Float32Array.from(uniform(c, seed, -2, 2), (v, k) => (k % zeroEvery === 0 ? 0 : v));
  return {
    nodes: [
      {
        op: 'BatchNormalization',
        name: 'bn',
        inputs: [x, 'gamma', 'beta', 'mean', 'var'],
        outputs: ['z'],
        attrs: { epsilon: 1e-5 },
      },
      {
        op: 'QuantConv',
        name: 'qc',
        inputs: ['z', 'qw', 's', 'qb'],
        outputs: ['y'],
        attrs: { pads: [1, 1, 1, 1], activations: 'sign', weights: 'binary', output: 'float' },
      },
    ],
    initializers: [
      ['gamma', float32([c], gamma)],
      ['beta', randomTensor([c], seed + 1, -1, 1)],
      ['mean', randomTensor([c], seed + 2, -1, 1)],
      ['var', randomTensor([c], seed + 3, 0.1, 2)],
      ['qw', float32([o, c, 3, 3], Float32Array.from(uniform(o * c * 9, seed + 4), Math.sign))],
      ['s', randomTensor([o], seed + 5, 0.1, 1)],
      ['qb', randomTensor([o], seed + 6, -1, 1)],
    ],
  };
}
