import { float32, runCpu, SUPPORTED_OPS } from '@zeroskip/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from './engine.js';
import { toGraph } from './export.js';
import {
  BatchNorm,
  Conv2d,
  Dense,
  Flatten,
  HTanh,
  type InputQuantizer,
  type Layer,
  MaxPool,
  ReLU,
  type WeightQuantizer,
} from './layers.js';
import { PIXELS } from './mnist.js';
import { createModel, Model } from './models.js';
import { uniform } from './test-util.js';
import { predictScores } from './train.js';

const N = 6;
let pixels: Float32Array;

beforeAll(async () => {
  await tf.setBackend('cpu');
  pixels = uniform(N * PIXELS, 9, 0, 1);
});

/** Random batch-norm statistics and affine, so that export mistakes in them show. */
function randomizeBatchNorms(model: Model, seed: number): void {
  model.layers.forEach((l, i) => {
    if (!(l instanceof BatchNorm)) return;
    const c = l.channels;
    l.gamma.assign(tf.tensor(uniform(c, seed + i, 0.5, 1.5)));
    l.beta.assign(tf.tensor(uniform(c, seed + i + 1, -0.3, 0.3)));
    l.movingMean.assign(tf.tensor(uniform(c, seed + i + 2, -0.2, 0.2)));
    l.movingVariance.assign(tf.tensor(uniform(c, seed + i + 3, 0.5, 2)));
  });
}

async function compare(model: Model) {
  const ours = await predictScores(model, pixels);
  const graph = toGraph(model);
  const theirs = runCpu(graph, { pixels: float32([N, 1, 28, 28], pixels) }).scores!;
  expect(theirs.shape).toEqual([N, 10]);
  return { ours, theirs: theirs.data as Float32Array, graph };
}

function argmax(row: Float32Array): number {
  return row.indexOf(Math.max(...row));
}

/** A small conv net with the given quantizers, covering conv→dense on a quantized input. */
function small(
  weights: WeightQuantizer,
  input: InputQuantizer,
  act: () => Layer[],
  seed: number,
  inputScale = false,
): Model {
  return new Model(
    'small',
    [28, 28, 1],
    [
      new Conv2d(1, 4, 3, { weights, seed, padding: 'valid' }),
      new MaxPool(2),
      new BatchNorm(4),
      ...act(),
      new Conv2d(4, 6, 3, {
        weights,
        input,
        seed: seed + 1,
        inputScale: inputScale && input.type === 'sign',
      }),
      new MaxPool(2),
      new BatchNorm(6),
      ...act(),
      new Flatten(),
      new Dense(6 * 6 * 6, 12, { weights, input, seed: seed + 2 }),
      new BatchNorm(12),
      ...act(),
      new Dense(12, 10, { weights, input, seed: seed + 3 }),
    ],
  );
}

const hasQuantConv = SUPPORTED_OPS.includes('QuantConv');

describe('toGraph on the runtime CPU executor reproduces the model in inference mode', () => {
  it.each(['fp32', 'lenet-300-100', 'lenet-5', 'ternarynet'] as const)(
    '%s (float activations)',
    async (name) => {
      const model = createModel(name, { seed: 3 });
      randomizeBatchNorms(model, 5);
      const { ours, theirs } = await compare(model);
      const scale = Math.max(...ours.map(Math.abs));
      for (let i = 0; i < ours.length; i++)
        expect(Math.abs(theirs[i]! - ours[i]!)).toBeLessThanOrEqual(1e-4 * scale);
      model.dispose();
    },
  );

  const quantized: [string, WeightQuantizer, InputQuantizer, () => Layer[], boolean][] = [
    ['BNN W1A1', { type: 'binary', scale: 'none' }, { type: 'sign' }, () => [new HTanh()], false],
    ['XNOR W1A1 with K', { type: 'binary', scale: 'filter' }, { type: 'sign' }, () => [new HTanh()], true],
    ['TWN weights, sign input', { type: 'ternary' }, { type: 'sign' }, () => [], false],
    ['DoReFa W1A3', { type: 'dorefa', bits: 1 }, { type: 'dorefa', bits: 3 }, () => [], false],
    ['DoReFa W2A2', { type: 'dorefa', bits: 2 }, { type: 'dorefa', bits: 2 }, () => [new ReLU()], false],
  ];
  it.skipIf(!hasQuantConv).each(quantized)('%s (QuantConv)', async (_, w, a, act, k) => {
    for (const seed of [1, 2]) {
      const model = small(w, a, act, seed * 10, k);
      randomizeBatchNorms(model, seed);
      const { ours, theirs, graph } = await compare(model);
      expect(graph.nodes.filter((n) => n.op === 'QuantConv')).toHaveLength(3);
      let agree = 0;
      let close = 0;
      for (let i = 0; i < N; i++) {
        const o = ours.subarray(i * 10, i * 10 + 10);
        const t = theirs.subarray(i * 10, i * 10 + 10);
        const [top, second] = [...o].sort((a, b) => b - a);
        // exact ties (from equal codes) leave argmax to float noise: count only clear winners
        if (top! - second! < 1e-3 || argmax(o) === argmax(t)) agree++;
        if (o.every((v, j) => Math.abs(v - t[j]!) <= 1e-3 * (1 + Math.abs(v)))) close++;
      }
      // a quantizer input on a rounding boundary may flip in float32; everything else matches
      expect(agree).toBeGreaterThanOrEqual(N - 1);
      expect(close).toBeGreaterThanOrEqual(N - 1);
      model.dispose();
    }
  });

  it.skipIf(!hasQuantConv).each(['binarynet', 'dorefa-w1a3'] as const)('%s', async (name) => {
    const model = createModel(name, { seed: 4 });
    randomizeBatchNorms(model, 7);
    const { ours, theirs } = await compare(model);
    let close = 0;
    for (let i = 0; i < N; i++)
      if (
        ours
          .subarray(i * 10, i * 10 + 10)
          .every((v, j) => Math.abs(v - theirs[i * 10 + j]!) <= 1e-3 * (1 + Math.abs(v)))
      )
        close++;
    expect(close).toBeGreaterThanOrEqual(N - 1);
    model.dispose();
  });
});
