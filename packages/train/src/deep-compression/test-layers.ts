import { seededRandom } from '@zeroskip/quant';
import { tf } from '../engine.js';
import type { CompressibleLayer, LayerKind } from './layers.js';

/** Standard normal samples from a seeded generator (Box–Muller). */
export function gaussian(n: number, seed: number): Float32Array {
  const u = seededRandom(seed);
  return Float32Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u()),
  );
}

/** A layer of seeded Gaussian weights; dispose its variable when done. */
export function gaussianLayer(
  name: string,
  kind: LayerKind,
  shape: number[],
  seed: number,
): CompressibleLayer {
  const size = shape.reduce((a, b) => a * b, 1);
  return { name, kind, variable: tf.tidy(() => tf.variable(tf.tensor(gaussian(size, seed), shape))) };
}

tf.env().set('PROD', true); // no advice to install tfjs-node in every test's output

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

export const read = async (t: tf.Tensor) => Float32Array.from(await t.data());
