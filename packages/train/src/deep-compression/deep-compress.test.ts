import { agpSchedule, iterativeSchedule, seededRandom } from '@zeroskip/quant';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../engine.js';
import { deepCompress } from './deep-compress.js';
import type { GradientHook, WeightHook } from './layers.js';
import { gaussian, gaussianLayer, read, useCpu } from './test-layers.js';

const classes = 3;
const features = 8;
const hidden = 32;

/** Gaussian blobs around seeded class means, well apart: separable up to a few outliers. */
function blobs(n: number, seed: number, means: Float32Array) {
  const noise = gaussian(n * features, seed);
  const pick = seededRandom(seed + 1);
  const labels = Int32Array.from({ length: n }, () => Math.floor(pick() * classes));
  const x = noise.map((v, i) => v + means[labels[Math.floor(i / features)]! * features + (i % features)]!);
  return { x: tf.tensor2d(x, [n, features]), y: tf.oneHot(tf.tensor1d(labels, 'int32'), classes) };
}

/** A 2-layer MLP trained by full-batch Adam, with the hooks of a training loop. */
function mlp() {
  const means = gaussian(classes * features, 100).map((v) => 2 * v);
  const train = blobs(300, 101, means);
  const test = blobs(150, 102, means);
  const w1 = gaussianLayer('fc1', 'fc', [features, hidden], 103);
  const w2 = gaussianLayer('fc2', 'fc', [hidden, classes], 104);
  const b1 = tf.variable(tf.zeros([hidden]));
  const b2 = tf.variable(tf.zeros([classes]));
  const logits = (x: tf.Tensor) =>
    tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1.variable), b1)), w2.variable), b2);
  const optimizer: tf.Optimizer = tf.train.adam(0.02);
  const trainStep = (gradientHook: GradientHook, weightHook: WeightHook) => {
    tf.tidy(() => {
      const loss = () => tf.losses.softmaxCrossEntropy(train.y, logits(train.x)) as tf.Scalar;
      optimizer.applyGradients(gradientHook(tf.variableGrads(loss).grads));
    });
    weightHook();
  };
  const evaluate = () =>
    tf.tidy(() => tf.mean(tf.equal(tf.argMax(logits(test.x), 1), tf.argMax(test.y, 1))).dataSync()[0]!);
  const dispose = () => {
    tf.dispose([train.x, train.y, test.x, test.y, w1.variable, w2.variable, b1, b2]);
    optimizer.dispose();
  };
  return { layers: [w1, w2], trainStep, evaluate, dispose };
}

describe('deepCompress', () => {
  let model: ReturnType<typeof mlp>;
  let centroidOptimizer: tf.Optimizer;
  beforeAll(async () => {
    await useCpu();
    model = mlp();
    centroidOptimizer = tf.train.adam(0.005);
  });
  afterAll(() => {
    model.dispose();
    centroidOptimizer.dispose();
  });

  it('keeps a 2-layer MLP accurate pruned to 90% and shared to 4 bits', async () => {
    for (let i = 0; i < 150; i++)
      model.trainStep(
        (g) => g,
        () => {},
      );
    const result = await deepCompress({
      layers: model.layers,
      trainStep: model.trainStep,
      evaluate: model.evaluate,
      schedule: iterativeSchedule([0.5, 0.75, 0.9], 30),
      pruneSteps: 120,
      bits: 4,
      fineTuneSteps: 40,
      centroidOptimizer,
    });
    const scores = result.scores!;
    expect(scores.dense).toBeGreaterThan(0.9);
    expect(scores.fineTuned).toBeGreaterThan(0.85);
    for (const [i, l] of model.layers.entries()) {
      const r = result.layers[i]!;
      const n = l.variable.size;
      expect(r.name).toBe(l.name);
      expect(r.bits).toBe(4);
      expect(r.kept).toBeCloseTo((n - Math.round(0.9 * n)) / n, 10);
      const w = await read(l.variable);
      expect(new Set(w.filter((v) => v !== 0)).size).toBeLessThanOrEqual(16);
      expect(w.filter((v) => v !== 0).length).toBeLessThanOrEqual(r.indices.length);
    }
  }, 120_000);

  it('prunes each layer to its own schedule at every step, AGP or iterative', async () => {
    const conv = gaussianLayer('conv', 'conv', [6, 2, 3, 3], 200);
    const dense = gaussianLayer('dense', 'fc', [40, 5], 201);
    const schedule = {
      conv: agpSchedule({ initial: 0, final: 0.8, start: 2, steps: 4, frequency: 3 }),
      fc: iterativeSchedule([0.3, 0.6, 0.95], 5),
    };
    const seen: number[][] = [];
    await deepCompress({
      layers: [conv, dense],
      // no learning: record what each step trains on, and let the weight hook run
      trainStep: async (_gradientHook, weightHook) => {
        weightHook();
        seen.push(
          await Promise.all(
            [conv, dense].map(async (l) => (await read(l.variable)).filter((v) => v === 0).length),
          ),
        );
      },
      schedule,
      pruneSteps: 20,
      bits: { conv: 3, fc: 2 },
      fineTuneSteps: 0,
      centroidOptimizer,
    });
    seen.forEach((zeros, step) => {
      expect(zeros[0]).toBe(Math.round(schedule.conv(step) * conv.variable.size));
      expect(zeros[1]).toBe(Math.round(schedule.fc(step) * dense.variable.size));
    });
    expect(seen).toHaveLength(20);
    tf.dispose([conv.variable, dense.variable]);
  });
});
