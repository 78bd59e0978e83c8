import { seededRandom } from '@zeroskip/quant';
import { tf } from './engine.js';
import { checkInt, TrainError } from './errors.js';
import { PIXELS } from './mnist.js';
import type { Model } from './models.js';
import { createOptimizer, type OptimizerName, type StepOptimizer } from './optimizers.js';

const CLASSES = 10;

/** Images N×784 in [0, 1] and their labels (an MnistSplit fits). */
export interface Dataset {
  readonly images: Float32Array;
  readonly labels: Uint8Array;
}

export type Schedule =
  /** rate × factor every `every` epochs. */
  | { readonly type: 'step'; readonly every: number; readonly factor: number }
  /** rate × factor^epoch. */
  | { readonly type: 'exponential'; readonly factor: number };

export interface StepContext {
  readonly model: Model;
  readonly epoch: number;
  /** Steps taken before this one, over all epochs. */
  readonly step: number;
}

/**
 * Lets other modules take part in each step: `beforeStep` may return transformed gradients (keyed by
 * variable name, e.g. masked for pruning); `afterStep` may rewrite weights after the update. Both run
 * inside the step's tidy scopes: tensors they create are released after them unless `tf.keep`-ed.
 */
export interface TrainHook {
  beforeStep?(grads: tf.NamedTensorMap, context: StepContext): tf.NamedTensorMap | undefined;
  afterStep?(context: StepContext): void;
}

export interface EpochInfo {
  readonly epoch: number;
  /** Mean training loss over the epoch's batches. */
  readonly loss: number;
  readonly seconds: number;
  readonly learningRate: number;
}

export interface TrainOptions {
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  readonly schedule?: Schedule;
  /**
   * A name (a fresh optimizer per call), or an optimizer from `createOptimizer` whose moments carry
   * over from call to call (its owner disposes it).
   */
  readonly optimizer?: OptimizerName | StepOptimizer;
  /** SGD's momentum (default 0.9). */
  readonly momentum?: number;
  readonly loss?: 'cross-entropy' | 'squared-hinge';
  readonly seed?: number;
  /** Reading the loss every step syncs with the device; only done when this is given. */
  readonly onStep?: (info: { epoch: number; step: number; loss: number }) => void;
  readonly onEpoch?: (info: EpochInfo) => void | Promise<void>;
  readonly hooks?: readonly TrainHook[];
  /**
   * Continues a run that stopped after this many epochs (its weights already loaded): the shuffles and
   * the learning-rate schedule pick up where it stopped; the optimizer's moments start afresh.
   */
  readonly startEpoch?: number;
}

export interface TrainResult {
  readonly epochs: readonly EpochInfo[];
}

function exampleCount(data: Dataset): number {
  const n = data.labels.length;
  if (data.images.length !== n * PIXELS)
    throw new TrainError(
      'shape-mismatch',
      `${data.images.length} pixel values for ${n} labels; images must be N×${PIXELS} for N labels.`,
    );
  return n;
}

function rateAt(base: number, schedule: Schedule | undefined, epoch: number): number {
  if (!schedule) return base;
  return schedule.type === 'step'
    ? base * schedule.factor ** Math.floor(epoch / schedule.every)
    : base * schedule.factor ** epoch;
}

function lossOf(
  kind: 'cross-entropy' | 'squared-hinge',
  scores: tf.Tensor2D,
  oneHot: tf.Tensor2D,
): tf.Scalar {
  // −log softmax = logsumexp − score
  if (kind === 'cross-entropy')
    return tf.mean(tf.sum(tf.mul(oneHot, tf.sub(tf.logSumExp(scores, 1, true), scores)), 1));
  // BNN's loss: targets ±1, mean of max(0, 1 − t·y)² over all scores.
  const t = tf.sub(tf.mul(oneHot, 2), 1);
  return tf.mean(tf.square(tf.relu(tf.sub(1, tf.mul(t, scores)))));
}

/** A batch of examples `order[from..to)` as tensors. */
function batch(
  data: Dataset,
  order: Uint32Array,
  from: number,
  to: number,
): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const n = to - from;
  const pixels = new Float32Array(n * PIXELS);
  const oneHot = new Float32Array(n * CLASSES);
  for (let i = 0; i < n; i++) {
    const e = order[from + i]!;
    pixels.set(data.images.subarray(e * PIXELS, (e + 1) * PIXELS), i * PIXELS);
    oneHot[i * CLASSES + data.labels[e]!] = 1;
  }
  return { x: tf.tensor2d(pixels, [n, PIXELS]), y: tf.tensor2d(oneHot, [n, CLASSES]) };
}

/** A seeded Fisher–Yates permutation of 0..n−1. */
function shuffled(n: number, rand: () => number): Uint32Array {
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Trains `model` in place with minibatches in a seeded order. */
export async function train(model: Model, data: Dataset, options: TrainOptions = {}): Promise<TrainResult> {
  const {
    epochs = 1,
    batchSize = 64,
    learningRate = 1e-3,
    optimizer: optimizerName = 'adam',
    momentum = 0.9,
    loss: lossKind = 'cross-entropy',
    seed = 0,
    hooks = [],
  } = options;
  checkInt('epochs', epochs, 1, 1e6);
  checkInt('batch size', batchSize, 1, 1e6);
  if (!(learningRate > 0))
    throw new TrainError('invalid-argument', `learning rate must be positive, got ${learningRate}.`);
  const n = exampleCount(data);
  const rand = seededRandom(seed);
  const owned = typeof optimizerName === 'string';
  const optimizer = owned ? createOptimizer(optimizerName, learningRate, momentum) : optimizerName;
  const variables = model.trainableVariables;
  const history: EpochInfo[] = [];
  let step = 0;
  try {
    const startEpoch = options.startEpoch ?? 0;
    for (let epoch = 0; epoch < startEpoch; epoch++) {
      shuffled(n, rand);
      step += Math.ceil(n / batchSize);
    }
    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      const start = performance.now();
      const rate = rateAt(learningRate, options.schedule, epoch);
      optimizer.setLearningRate(rate);
      const order = shuffled(n, rand);
      let total: tf.Tensor = tf.scalar(0);
      let batches = 0;
      for (let from = 0; from < n; from += batchSize) {
        const context: StepContext = { model, epoch, step };
        const value = tf.tidy(() => {
          const { x, y } = batch(data, order, from, Math.min(from + batchSize, n));
          const { value, grads } = tf.variableGrads(
            () => lossOf(lossKind, model.predict(x, true), y),
            variables,
          );
          let g = grads;
          for (const h of hooks) g = h.beforeStep?.(g, context) ?? g;
          optimizer.applyGradients(g);
          return value;
        });
        // releases what the weight rewrites leave behind: `v.assign(t)` shares t's data, and t's own
        // handle, never disposed, would add a tensor per step
        tf.tidy(() => {
          model.afterUpdate();
          for (const h of hooks) h.afterStep?.(context);
        });
        // yield to the event loop: WebGPU backends recycle buffers (and Dawn delivers its events) only then
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (options.onStep) options.onStep({ epoch, step, loss: (await value.data())[0]! });
        const sum = tf.add(total, value);
        total.dispose();
        value.dispose();
        total = sum;
        batches++;
        step++;
      }
      const mean = (await total.data())[0]! / batches;
      total.dispose();
      const info = { epoch, loss: mean, seconds: (performance.now() - start) / 1000, learningRate: rate };
      history.push(info);
      await options.onEpoch?.(info);
    }
  } finally {
    if (owned) optimizer.dispose();
  }
  return { epochs: history };
}

/** Inference-mode scores, N×10, computed in batches. */
export async function predictScores(
  model: Model,
  images: Float32Array,
  batchSize = 500,
): Promise<Float32Array> {
  const n = images.length / PIXELS;
  const out = new Float32Array(n * CLASSES);
  for (let from = 0; from < n; from += batchSize) {
    const to = Math.min(from + batchSize, n);
    const scores = tf.tidy(() =>
      model.predict(tf.tensor2d(images.subarray(from * PIXELS, to * PIXELS), [to - from, PIXELS])),
    );
    out.set(await scores.data(), from * CLASSES);
    scores.dispose();
  }
  return out;
}

/** Fraction of images whose highest score is not their label. */
export async function evaluate(model: Model, images: Float32Array, labels: Uint8Array): Promise<number> {
  const n = exampleCount({ images, labels });
  const scores = await predictScores(model, images);
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const row = scores.subarray(i * CLASSES, (i + 1) * CLASSES);
    let best = 0;
    for (let c = 1; c < CLASSES; c++) if (row[c]! > row[best]!) best = c;
    if (best !== labels[i]) errors++;
  }
  return n === 0 ? 0 : errors / n;
}
