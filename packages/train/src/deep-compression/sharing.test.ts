import { fineTuneCentroids, kmeansShare } from '@zeroskip/quant';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../engine.js';
import { PruningMasks } from './masks.js';
import { type SharedLayer, WeightSharing } from './sharing.js';
import { gaussian, gaussianLayer, read, useCpu } from './test-layers.js';

beforeAll(useCpu);

/** Each weight's cluster, −1 where pruned, rebuilt from the exported mask and survivor indices. */
function denseIndices(s: SharedLayer): Int32Array {
  let next = 0;
  return Int32Array.from(s.mask, (m) => (m ? s.indices[next++]! : -1));
}

/** Σ of the gradients in each cluster, by a plain loop. */
function clusterSums(indices: Int32Array, gradient: Float32Array, k: number): Float64Array {
  const sums = new Float64Array(k);
  for (let i = 0; i < indices.length; i++) if (indices[i]! >= 0) sums[indices[i]!]! += gradient[i]!;
  return sums;
}

const closeTo = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(tol);
};

describe('WeightSharing', () => {
  it('moves each centroid by the sum of its weights’ gradients and rewrites weights as centroids', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 4 }),
        fc.double({ min: 0, max: 0.9, noNaN: true }),
        fc.integer(),
        async (rows, cols, bits, rate, seed) => {
          const layers = [
            gaussianLayer('conv', 'conv', [rows, cols], seed),
            gaussianLayer('fc', 'fc', [cols, 3], seed + 1),
          ];
          const masks = new PruningMasks(layers);
          await masks.prune({ rate });
          masks.dispose();
          const before = await Promise.all(layers.map((l) => read(l.variable)));
          const lr = 0.05;
          const optimizer = tf.train.sgd(lr);
          const sharing = await WeightSharing.share(layers, {
            bits: { conv: bits, fc: bits + 1 },
            optimizer,
          });
          let shared = await sharing.sharedWeights();
          shared.forEach((s, i) => {
            const ref = kmeansShare(before[i]!, { bits: s.bits, init: 'linear' });
            expect(s.centroids).toEqual(ref.codebook);
            expect(denseIndices(s)).toEqual(ref.indices);
          });

          for (let step = 0; step < 3; step++) {
            const grads = Object.fromEntries(
              layers.map((l, i) => [
                l.variable.name,
                tf.tensor(gaussian(l.variable.size, seed + 7 * step + i), l.variable.shape),
              ]),
            );
            const want = await Promise.all(
              shared.map(async (s, i) => {
                const g = await read(grads[layers[i]!.variable.name]!);
                const indices = denseIndices(s);
                const direct = clusterSums(indices, g, s.centroids.length);
                const quant = fineTuneCentroids(s.centroids, indices, g, lr);
                closeTo(quant.gradient, direct, 1e-9);
                return { direct, codebook: quant.codebook };
              }),
            );
            const centroidGrads = sharing.centroidGradients(grads);
            for (const [i, l] of layers.entries())
              closeTo(await read(centroidGrads[l.name]!), want[i]!.direct, 1e-4);
            tf.dispose(centroidGrads);

            const passed = sharing.fineTune(grads);
            for (const l of layers)
              expect(await read(passed[l.variable.name]!)).toEqual(new Float32Array(l.variable.size));
            tf.dispose([...Object.values(passed), ...Object.values(grads)]);
            sharing.apply();

            shared = await sharing.sharedWeights();
            for (const [i, s] of shared.entries()) {
              closeTo(s.centroids, want[i]!.codebook, 1e-4);
              const w = await read(layers[i]!.variable);
              const indices = denseIndices(s);
              // every survivor is exactly its centroid, every pruned weight exactly +0
              expect(w).toEqual(Float32Array.from(indices, (j) => (j < 0 ? 0 : s.centroids[j]!)));
              expect(s.mask).toEqual(Uint8Array.from(before[i]!, (v) => (v !== 0 ? 1 : 0)));
              expect(new Set(w.filter((v) => v !== 0)).size).toBeLessThanOrEqual(2 ** s.bits);
            }
          }
          sharing.dispose();
          optimizer.dispose();
          for (const l of layers) l.variable.dispose();
        },
      ),
      { seed: 3, numRuns: 15 },
    );
  });

  it('fits a quadratic target with Adam on the centroids alone', async () => {
    const layer = gaussianLayer('fc', 'fc', [10, 10], 21);
    const target = tf.tensor(gaussian(100, 22), [10, 10]);
    const loss = () => tf.sum(tf.square(tf.sub(layer.variable, target))) as tf.Scalar;
    const optimizer = tf.train.adam(0.05);
    const sharing = await WeightSharing.share([layer], { bits: 2, optimizer });
    const lossOf = () => tf.tidy(() => loss().dataSync()[0]!);
    const start = lossOf();
    for (let i = 0; i < 50; i++) {
      tf.tidy(() => {
        sharing.fineTune(tf.variableGrads(loss).grads);
      });
      sharing.apply();
    }
    // with 4 shared values per weight the best fit is far from 0, but training must improve it
    expect(lossOf()).toBeLessThan(start);
    const [s] = await sharing.sharedWeights();
    expect(new Set(await read(layer.variable)).size).toBeLessThanOrEqual(2 ** s!.bits);
    sharing.dispose();
    optimizer.dispose();
    layer.variable.dispose();
    target.dispose();
  });
});
