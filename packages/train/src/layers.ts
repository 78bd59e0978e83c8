import { seededRandom } from '@zeroskip/quant';
import { tf } from './engine.js';
import { checkInt, TrainError } from './errors.js';
import {
  binarize,
  dorefaActivations,
  dorefaWeights,
  quantizeGradient,
  type TernaryThreshold,
  ternaryWeights,
  xnorInputScale,
  xnorWeights,
} from './quantizers.js';

/** How a weight layer quantizes its latent float weights in the forward pass. */
export type WeightQuantizer =
  | { readonly type: 'float' }
  /** ±1 (BNN, `scale: 'none'`) or α·±1 with α per output filter (XNOR-Net, `scale: 'filter'`). */
  | { readonly type: 'binary'; readonly scale: 'none' | 'filter' }
  | { readonly type: 'ternary'; readonly threshold?: TernaryThreshold }
  | { readonly type: 'dorefa'; readonly bits: number };

/** How a weight layer quantizes its input: not at all, sign (±1), or DoReFa k-bit codes in [0, 1]. */
export type InputQuantizer =
  | { readonly type: 'none' }
  | { readonly type: 'sign' }
  | { readonly type: 'dorefa'; readonly bits: number };

/** One layer of a sequential model. */
export interface Layer {
  readonly kind: string;
  /** training: batch norms use batch statistics (and remember them for `afterUpdate`). */
  apply(x: tf.Tensor, training: boolean): tf.Tensor;
  /** Trainable variables by parameter name. */
  readonly params: Readonly<Record<string, tf.Variable>>;
  /** Non-trainable state by name (running statistics). */
  readonly state: Readonly<Record<string, tf.Variable>>;
  /** Runs after each optimizer step. */
  afterUpdate(): void;
  dispose(): void;
}

abstract class Stateless implements Layer {
  abstract readonly kind: string;
  abstract apply(x: tf.Tensor): tf.Tensor;
  readonly params = {};
  readonly state = {};
  afterUpdate(): void {}
  dispose(): void {}
}

export class MaxPool extends Stateless {
  readonly kind = 'maxpool';
  constructor(readonly size = 2) {
    super();
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.maxPool(x as tf.Tensor4D, this.size, this.size, 'valid');
  }
}

/** htanh(x) = clip(x, −1, 1), BNN's activation before sign. */
export class HTanh extends Stateless {
  readonly kind = 'htanh';
  apply(x: tf.Tensor): tf.Tensor {
    return tf.clipByValue(x, -1, 1);
  }
}

export class ReLU extends Stateless {
  readonly kind = 'relu';
  apply(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
}

/** NHWC → [N, H·W·C] in TF.js's (h, w, c) order. */
export class Flatten extends Stateless {
  readonly kind = 'flatten';
  apply(x: tf.Tensor): tf.Tensor {
    return tf.reshape(x, [x.shape[0]!, -1]);
  }
}

/** Seeded Glorot-uniform values for a kernel with the given fans. */
function glorot(shape: number[], fanIn: number, fanOut: number, seed: number): tf.Tensor {
  const rand = seededRandom(seed);
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: size }, () => (2 * rand() - 1) * limit),
    shape,
  );
}

export interface WeightLayerOptions {
  readonly weights?: WeightQuantizer;
  readonly input?: InputQuantizer;
  readonly bias?: boolean;
  readonly seed?: number;
  /** DoReFa gradient quantization of this layer's output gradient, k bits (off by default). */
  readonly gradientBits?: number;
}

const FLOAT: WeightQuantizer = { type: 'float' };
const NONE: InputQuantizer = { type: 'none' };

/** Conv2d and Dense: a kernel whose last axis is the output, a weight quantizer and an input quantizer. */
abstract class WeightLayer implements Layer {
  abstract readonly kind: string;
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | undefined;
  readonly weights: WeightQuantizer;
  readonly input: InputQuantizer;
  readonly params: Readonly<Record<string, tf.Variable>>;
  readonly state = {};
  private readonly gradientBits: number | undefined;
  private gradientSeed: number;

  constructor(shape: number[], fanIn: number, fanOut: number, options: WeightLayerOptions) {
    this.weights = options.weights ?? FLOAT;
    this.input = options.input ?? NONE;
    if (this.weights.type === 'dorefa') checkInt('weight bits', this.weights.bits, 1, 8);
    if (this.input.type === 'dorefa') checkInt('activation bits', this.input.bits, 1, 8);
    if (options.gradientBits !== undefined) checkInt('gradient bits', options.gradientBits, 1, 16);
    this.gradientBits = options.gradientBits;
    this.gradientSeed = (options.seed ?? 0) * 7919 + 1;
    this.kernel = tf.variable(glorot(shape, fanIn, fanOut, options.seed ?? 0));
    const out = shape.at(-1)!;
    this.bias = options.bias === false ? undefined : tf.variable(tf.zeros([out]));
    this.params = this.bias ? { kernel: this.kernel, bias: this.bias } : { kernel: this.kernel };
  }

  /** The weights the forward pass uses: the quantized latent kernel, with its straight-through gradient. */
  effectiveKernel(): tf.Tensor {
    const w = this.weights;
    switch (w.type) {
      case 'float':
        return this.kernel;
      case 'binary':
        return w.scale === 'filter' ? xnorWeights(this.kernel) : binarize(this.kernel);
      case 'ternary':
        return ternaryWeights(this.kernel, w.threshold);
      case 'dorefa':
        return dorefaWeights(this.kernel, w.bits);
    }
  }

  protected quantizeInput(x: tf.Tensor): tf.Tensor {
    const q = this.input;
    return q.type === 'sign' ? binarize(x) : q.type === 'dorefa' ? dorefaActivations(x, q.bits) : x;
  }

  protected abstract linear(x: tf.Tensor, kernel: tf.Tensor, raw: tf.Tensor): tf.Tensor;

  apply(x: tf.Tensor, training: boolean): tf.Tensor {
    let y = this.linear(this.quantizeInput(x), this.effectiveKernel(), x);
    if (this.bias) y = tf.add(y, this.bias);
    if (training && this.gradientBits !== undefined)
      y = quantizeGradient(y, this.gradientBits, this.gradientSeed++);
    return y;
  }

  /** BNN keeps binary layers' latent weights in [−1, 1], where sign's STE still passes gradient. */
  afterUpdate(): void {
    if (this.weights.type === 'binary') this.kernel.assign(tf.tidy(() => tf.clipByValue(this.kernel, -1, 1)));
  }

  dispose(): void {
    this.kernel.dispose();
    this.bias?.dispose();
  }
}

export interface Conv2dOptions extends WeightLayerOptions {
  readonly padding?: 'same' | 'valid';
  /** XNOR-Net's input scale map K multiplies the output (with a sign input quantizer). */
  readonly inputScale?: boolean;
}

/** A stride-1 convolution, NHWC, kernel [kh, kw, in, out]. */
export class Conv2d extends WeightLayer {
  readonly kind = 'conv';
  readonly padding: 'same' | 'valid';
  readonly inputScale: boolean;
  constructor(
    readonly inChannels: number,
    readonly filters: number,
    readonly kernelSize: number,
    options: Conv2dOptions = {},
  ) {
    const k = kernelSize;
    super([k, k, inChannels, filters], k * k * inChannels, k * k * filters, options);
    this.padding = options.padding ?? 'same';
    this.inputScale = options.inputScale ?? false;
    if (this.inputScale && this.input.type !== 'sign')
      throw new TrainError('invalid-argument', 'the XNOR input scale map needs a sign input quantizer.');
    if (this.padding === 'same' && k % 2 === 0)
      throw new TrainError('invalid-argument', `'same' padding needs an odd kernel size, got ${k}.`);
  }

  protected linear(x: tf.Tensor, kernel: tf.Tensor, raw: tf.Tensor): tf.Tensor {
    const y = tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, 1, this.padding);
    if (!this.inputScale) return y;
    return tf.mul(y, xnorInputScale(raw as tf.Tensor4D, this.kernelSize, this.kernelSize, this.padding));
  }
}

/** A fully connected layer on [N, F], kernel [F, units]. */
export class Dense extends WeightLayer {
  readonly kind = 'dense';
  constructor(
    readonly inFeatures: number,
    readonly units: number,
    options: WeightLayerOptions = {},
  ) {
    super([inFeatures, units], inFeatures, units, options);
  }

  protected linear(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
    return tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D);
  }
}

export type WeightLayerType = Conv2d | Dense;

export function isWeightLayer(layer: Layer): layer is WeightLayerType {
  return layer instanceof Conv2d || layer instanceof Dense;
}

export interface BatchNormOptions {
  /** Running average: r ← momentum·r + (1 − momentum)·batch (default 0.9). */
  readonly momentum?: number;
  readonly epsilon?: number;
}

/** Batch normalization over the last axis (channels of NHWC, features of [N, F]). */
export class BatchNorm implements Layer {
  readonly kind = 'batchnorm';
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly movingMean: tf.Variable;
  readonly movingVariance: tf.Variable;
  readonly momentum: number;
  readonly epsilon: number;
  readonly params: Readonly<Record<string, tf.Variable>>;
  readonly state: Readonly<Record<string, tf.Variable>>;
  /** The last training batch's moments, folded into the running averages by `afterUpdate`. */
  private pending: { mean: tf.Tensor; variance: tf.Tensor } | undefined;

  constructor(
    readonly channels: number,
    { momentum = 0.9, epsilon = 1e-5 }: BatchNormOptions = {},
  ) {
    this.momentum = momentum;
    this.epsilon = epsilon;
    this.gamma = tf.variable(tf.ones([channels]));
    this.beta = tf.variable(tf.zeros([channels]));
    this.movingMean = tf.variable(tf.zeros([channels]), false);
    this.movingVariance = tf.variable(tf.ones([channels]), false);
    this.params = { gamma: this.gamma, beta: this.beta };
    this.state = { movingMean: this.movingMean, movingVariance: this.movingVariance };
  }

  apply(x: tf.Tensor, training: boolean): tf.Tensor {
    if (!training)
      return tf.batchNorm(x, this.movingMean, this.movingVariance, this.beta, this.gamma, this.epsilon);
    // tf.moments' float32 Cast receives a null gradient on the tape: compute the moments directly.
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    const mean = tf.mean(x, axes);
    const variance = tf.mean(tf.square(tf.sub(x, mean)), axes);
    this.dropPending();
    this.pending = { mean: tf.keep(mean), variance: tf.keep(variance) };
    return tf.batchNorm(x, mean, variance, this.beta, this.gamma, this.epsilon);
  }

  afterUpdate(): void {
    const p = this.pending;
    if (!p) return;
    const m = this.momentum;
    tf.tidy(() => {
      this.movingMean.assign(tf.add(tf.mul(this.movingMean, m), tf.mul(p.mean, 1 - m)));
      this.movingVariance.assign(tf.add(tf.mul(this.movingVariance, m), tf.mul(p.variance, 1 - m)));
    });
    this.dropPending();
  }

  private dropPending(): void {
    this.pending?.mean.dispose();
    this.pending?.variance.dispose();
    this.pending = undefined;
  }

  dispose(): void {
    this.dropPending();
    for (const v of [this.gamma, this.beta, this.movingMean, this.movingVariance]) v.dispose();
  }
}
