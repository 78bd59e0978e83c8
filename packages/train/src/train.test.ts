import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from './engine.js';
import { BatchNorm, Conv2d, Dense, Flatten, HTanh, MaxPool, ReLU } from './layers.js';
import { IMAGE_SIZE, loadMnist, type Mnist, PIXELS } from './mnist.js';
import { createModel, Model } from './models.js';
import { createOptimizer } from './optimizers.js';
import { type Dataset, evaluate, predictScores, train } from './train.js';
import { loadWeights, saveWeights } from './weights.js';

let mnist: Mnist;

beforeAll(async () => {
  await tf.setBackend('cpu');
  mnist = await loadMnist({ trainLimit: 2000, testLimit: 1000 });
});

/** A binary MLP in BNN style: float first layer, sign activations into ±1 weights after. */
function binaryMlp(seed: number): Model {
  const bin = { weights: { type: 'binary', scale: 'none' }, input: { type: 'sign' } } as const;
  return new Model(
    'binary-mlp',
    [PIXELS],
    [
      new Dense(PIXELS, 128, { weights: { type: 'binary', scale: 'none' }, bias: false, seed }),
      new BatchNorm(128),
      new HTanh(),
      new Dense(128, 64, { ...bin, bias: false, seed: seed + 1 }),
      new BatchNorm(64),
      new HTanh(),
      new Dense(64, 10, { ...bin, bias: false, seed: seed + 2 }),
      new BatchNorm(10),
    ],
  );
}

/**
 * A tiny DoReFa conv net on 14×14 max-pooled digits: tfjs-backend-cpu's filter gradient is slow, so
 * the convolution stays small. The final batch norm keeps the scores at the squared hinge's ±1 scale
 * (as BNN's), without which SGD's small steps on the quantized layer leave every score at −1.
 */
function tinyConv(seed: number): Model {
  const filters = 4;
  const kernel = 3;
  const side = (IMAGE_SIZE / 2 - (kernel - 1)) / 2; // pool, valid conv, pool
  return new Model(
    'tiny-conv',
    [28, 28, 1],
    [
      new MaxPool(2),
      new Conv2d(1, filters, kernel, { padding: 'valid', seed }),
      new MaxPool(2),
      new BatchNorm(filters),
      new Flatten(),
      new Dense(side * side * filters, 10, {
        weights: { type: 'dorefa', bits: 2 },
        input: { type: 'dorefa', bits: 3 },
        bias: false,
        seed: seed + 1,
      }),
      new BatchNorm(10),
    ],
  );
}

/** The first n training examples. */
function head(data: Dataset, n: number): Dataset {
  return { images: data.images.subarray(0, n * PIXELS), labels: data.labels.subarray(0, n) };
}

describe('training on an MNIST subset', () => {
  it('a binary MLP: the loss falls and the test error drops below a floor', async () => {
    const model = binaryMlp(1);
    const losses: number[] = [];
    await train(model, mnist.train, {
      epochs: 8,
      batchSize: 64,
      learningRate: 0.01,
      seed: 1,
      onEpoch: (e) => {
        losses.push(e.loss);
      },
    });
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.7);
    expect(await evaluate(model, mnist.test.images, mnist.test.labels)).toBeLessThan(0.25);
    // BNN keeps binary layers' latent weights in [−1, 1]
    for (const v of model.weightVariables())
      expect(Math.max(...(v.dataSync() as Float32Array).map(Math.abs))).toBeLessThanOrEqual(1);
    model.dispose();
  });

  it('a tiny DoReFa conv net with SGD, a step schedule and the squared hinge loss', async () => {
    const model = tinyConv(2);
    const rates: number[] = [];
    const losses: number[] = [];
    await train(model, head(mnist.train, 1000), {
      epochs: 4,
      batchSize: 50,
      learningRate: 0.2,
      optimizer: 'sgd',
      schedule: { type: 'step', every: 2, factor: 0.5 },
      loss: 'squared-hinge',
      seed: 2,
      onEpoch: (e) => {
        rates.push(e.learningRate);
        losses.push(e.loss);
      },
    });
    expect(rates).toEqual([0.2, 0.2, 0.1, 0.1]);
    // scoring every class −1 already gives a loss of 0.4 (one target of 10 missed by 2): go well below
    expect(losses.at(-1)!).toBeLessThan(0.25);
    expect(await evaluate(model, mnist.test.images, mnist.test.labels)).toBeLessThan(0.35);
    model.dispose();
  });

  it('keeps the tensor count flat over epochs, with hooks and shift-based AdaMax', async () => {
    const model = binaryMlp(3);
    const before = tf.memory().numTensors;
    const gammas = model.layers.flatMap((l) => (l instanceof BatchNorm ? [l.gamma] : []));
    const counts: number[] = [];
    let steps = 0;
    await train(model, head(mnist.train, 256), {
      epochs: 3,
      optimizer: 'shift-adamax',
      hooks: [
        {
          // both hooks leave their intermediate tensors to the training loop's scopes
          beforeStep: (grads) =>
            Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, 0.5)])),
          afterStep: () => {
            for (const g of gammas) g.assign(tf.relu(g));
            steps++;
          },
        },
      ],
      onEpoch: () => {
        counts.push(tf.memory().numTensors);
      },
    });
    expect(steps).toBe(3 * 4);
    // the first epoch creates the optimizer's moments; none of the later steps may add a tensor
    expect(counts[2]).toBe(counts[1]);
    // and the run leaves nothing behind: the moments go with the optimizer
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('repeats with the same seed and carries weights as a plain record', async () => {
    const data = head(mnist.train, 128);
    const run = async () => {
      const model = createModel('lenet-300-100', { seed: 5 });
      await train(model, data, { epochs: 1, seed: 9 });
      return model;
    };
    const [a, b] = [await run(), await run()];
    const wa = await saveWeights(a);
    expect(await saveWeights(b)).toEqual(wa);
    const c = createModel('lenet-300-100', { seed: 6 });
    loadWeights(c, wa);
    const images = mnist.test.images.subarray(0, 20 * PIXELS);
    expect(await predictScores(c, images)).toEqual(await predictScores(a, images));
    expect(() => loadWeights(createModel('lenet-5'), wa)).toThrow(
      expect.objectContaining({ code: 'shape-mismatch' }),
    );
    for (const m of [a, b, c]) m.dispose();
  });

  it("carries a given optimizer's moments from call to call, as one longer run does", async () => {
    const data = head(mnist.train, 128);
    const options = { batchSize: 32, learningRate: 1e-3, seed: 9 } as const;
    const oneRun = createModel('lenet-300-100', { seed: 5 });
    await train(oneRun, data, { ...options, epochs: 2 });
    const resumed = async (optimizer: 'adam' | ReturnType<typeof createOptimizer>) => {
      const model = createModel('lenet-300-100', { seed: 5 });
      await train(model, data, { ...options, epochs: 1, optimizer });
      await train(model, data, { ...options, epochs: 2, startEpoch: 1, optimizer });
      return model;
    };
    const adam = createOptimizer('adam', options.learningRate, 0);
    const [kept, fresh] = [await resumed(adam), await resumed('adam')];
    adam.dispose();
    const want = await saveWeights(oneRun);
    expect(await saveWeights(kept)).toEqual(want);
    expect(await saveWeights(fresh)).not.toEqual(want);
    for (const m of [oneRun, kept, fresh]) m.dispose();
  });
});

it('uses ReLU and float layers untouched by quantization', () => {
  const x = tf.tensor([[-1, 2]]);
  expect(Array.from(new ReLU().apply(x).dataSync())).toEqual([0, 2]);
});
