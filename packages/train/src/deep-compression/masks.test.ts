import { hanThreshold, pruneByRate, pruneByThreshold } from '@zeroskip/quant';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../engine.js';
import { TrainError } from '../errors.js';
import type { CompressibleLayer } from './layers.js';
import { PruningMasks } from './masks.js';
import { gaussian, gaussianLayer, read, useCpu } from './test-layers.js';

const created: CompressibleLayer[] = [];
const layer = (...args: Parameters<typeof gaussianLayer>) => {
  const l = gaussianLayer(...args);
  created.push(l);
  return l;
};

beforeAll(useCpu);
afterEach(() => {
  for (const l of created.splice(0)) l.variable.dispose();
});

/** Population std computed directly, independent of @zeroskip/quant. */
function directStd(w: ArrayLike<number>): number {
  const n = w.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += w[i]! / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (w[i]! - mean) ** 2 / n;
  return Math.sqrt(v);
}

describe('PruningMasks', () => {
  it('keeps pruned weights exactly 0 through Adam steps whose moments would revive them', async () => {
    const layers = [layer('conv1', 'conv', [4, 3, 3, 3], 1), layer('fc1', 'fc', [12, 10], 2)];
    const targets = layers.map((l, i) => tf.tensor(gaussian(l.variable.size, 10 + i), l.variable.shape));
    const loss = () =>
      tf.addN(layers.map((l, i) => tf.sum(tf.square(tf.sub(l.variable, targets[i]!))))) as tf.Scalar;
    const optimizer: tf.Optimizer = tf.train.adam(0.05);
    const step = (hook: (g: tf.NamedTensorMap) => tf.NamedTensorMap) =>
      tf.tidy(() => optimizer.applyGradients(hook(tf.variableGrads(loss).grads)));
    for (let i = 0; i < 5; i++) step((g) => g); // dense training builds up Adam's moments

    const masks = new PruningMasks(layers);
    const report = await masks.prune({ rate: { conv: 0.5, fc: 0.8 } });
    expect(report.map((r) => r.kept)).toEqual([
      1 - Math.round(0.5 * 108) / 108,
      1 - Math.round(0.8 * 120) / 120,
    ]);
    let revived = 0;
    for (let i = 0; i < 6; i++) {
      step((g) => {
        const masked = masks.maskGradients(g);
        for (const l of layers) {
          const raw = g[l.variable.name]!.dataSync();
          const got = masked[l.variable.name]!.dataSync();
          const m = masks.mask(l.name);
          expect(got).toEqual(raw.map((v, j) => (m[j] ? v : 0)));
        }
        return masked;
      });
      for (const l of layers) {
        const w = await read(l.variable);
        revived += masks.mask(l.name).filter((m, j) => m === 0 && w[j] !== 0).length;
      }
      masks.apply();
      for (const l of layers) {
        const w = await read(l.variable);
        masks.mask(l.name).forEach((m, j) => {
          if (m === 0) expect(w[j]).toBe(0);
        });
      }
    }
    // without apply() the moments would have moved pruned weights: the check above is not vacuous
    expect(revived).toBeGreaterThan(0);
    masks.dispose();
    optimizer.dispose();
    tf.dispose(targets);
  });

  it('never regrows a mask: a lower rate or a looser threshold keeps what was pruned', async () => {
    const l = layer('fc', 'fc', [16, 16], 3);
    const masks = new PruningMasks([l]);
    await masks.prune({ rate: 0.7 });
    const before = masks.mask('fc');
    await masks.prune({ rate: 0.3 });
    expect(masks.mask('fc')).toEqual(before);
    await masks.prune({ quality: 0 });
    expect(masks.mask('fc')).toEqual(before);
    masks.dispose();
  });

  it('prunes by rate as pruneByRate does, and exactly the smallest magnitudes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer(),
        async (rows, cols, rate, seed) => {
          const l = layer('w', 'fc', [rows, cols], seed);
          const w = await read(l.variable);
          const masks = new PruningMasks([l]);
          await masks.prune({ rate });
          const mask = masks.mask('w');
          expect(mask).toEqual(pruneByRate(w, rate).mask);
          const kept = [...w].filter((_, i) => mask[i] === 1).map(Math.abs);
          const pruned = [...w].filter((_, i) => mask[i] === 0).map(Math.abs);
          expect(pruned.length).toBe(Math.round(rate * w.length));
          if (kept.length && pruned.length)
            expect(Math.max(...pruned)).toBeLessThanOrEqual(Math.min(...kept));
          const after = await read(l.variable);
          expect(after).toEqual(w.map((v, i) => (mask[i] ? v : 0)));
          masks.dispose();
          for (const x of created.splice(0)) x.variable.dispose();
        },
      ),
      { seed: 7, numRuns: 25 },
    );
  });

  it("prunes by Han's rule: quality × std of the surviving weights, per layer", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 200 }),
        fc.double({ min: 0, max: 1.5, noNaN: true }),
        fc.double({ min: 0, max: 1.5, noNaN: true }),
        fc.integer(),
        async (n, q1, q2, seed) => {
          const conv = layer('c', 'conv', [n], seed);
          const fcl = layer('f', 'fc', [n], seed + 1);
          const masks = new PruningMasks([conv, fcl]);
          const quality = { conv: q1, fc: q2 };
          // twice: the second round's std is over the first round's survivors
          for (let round = 0; round < 2; round++) {
            const before = await Promise.all(
              [conv, fcl].map(async (l) => [await read(l.variable), masks.mask(l.name)] as const),
            );
            const report = await masks.prune({ quality });
            before.forEach(([w, old], i) => {
              const q = i === 0 ? q1 : q2;
              const survivors = w.filter((_, j) => old[j] === 1);
              const t = q * directStd(survivors);
              expect(report[i]!.threshold).toBeCloseTo(t, 5);
              expect(report[i]!.threshold).toBe(hanThreshold(survivors, q));
              const expected = pruneByThreshold(w, report[i]!.threshold).mask.map((m, j) => m & old[j]!);
              expect(masks.mask(i === 0 ? 'c' : 'f')).toEqual(expected);
              expected.forEach((m, j) => {
                if (old[j] === 1) expect(m).toBe(Math.abs(w[j]!) >= report[i]!.threshold ? 1 : 0);
              });
            });
          }
          masks.dispose();
          for (const x of created.splice(0)) x.variable.dispose();
        },
      ),
      { seed: 11, numRuns: 20 },
    );
  });

  it('refuses a missing gradient, a missing per-kind setting and duplicate names', async () => {
    const a = layer('a', 'conv', [3, 3], 4);
    const b = layer('b', 'fc', [3, 3], 5);
    const masks = new PruningMasks([b, a]);
    expect(() => masks.maskGradients({})).toThrow(TrainError);
    await expect(masks.prune({ rate: { fc: 0.5 } })).rejects.toThrow(/no pruning rate for layer 'a'/);
    // the layer before the bad one is left as it was
    expect(masks.mask('b')).toEqual(new Uint8Array(9).fill(1));
    expect(() => new PruningMasks([a, a])).toThrow(/appears twice/);
    masks.dispose();
  });
});
