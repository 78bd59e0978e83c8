import { tf } from './engine.js';
import { TrainError } from './errors.js';
import {
  BatchNorm,
  Conv2d,
  Dense,
  Flatten,
  HTanh,
  type InputQuantizer,
  isWeightLayer,
  type Layer,
  MaxPool,
  ReLU,
  type WeightLayerType,
  type WeightQuantizer,
} from './layers.js';
import { IMAGE_SIZE, PIXELS } from './mnist.js';

/** A sequential network from N×784 pixels in [0, 1] to N×10 scores. */
export class Model {
  constructor(
    readonly name: string,
    /** Per-example input shape the first layer takes: [784] or [28, 28, 1] (NHWC). */
    readonly inputShape: readonly number[],
    readonly layers: readonly Layer[],
  ) {}

  /** Scores for a batch of flat pixels [N, 784]; training uses batch statistics in batch norms. */
  predict(pixels: tf.Tensor, training = false): tf.Tensor2D {
    return tf.tidy(() => {
      let x = tf.reshape(pixels, [pixels.shape[0]!, ...this.inputShape]);
      for (const layer of this.layers) x = layer.apply(x, training);
      return x as tf.Tensor2D;
    });
  }

  get trainableVariables(): tf.Variable[] {
    return this.layers.flatMap((l) => Object.values(l.params));
  }

  /** The conv and dense layers, in order. */
  get weightLayers(): WeightLayerType[] {
    return this.layers.filter(isWeightLayer);
  }

  /** Each weight layer's latent kernel, in order: what pruning and weight sharing act on. */
  weightVariables(): tf.Variable[] {
    return this.weightLayers.map((l) => l.kernel);
  }

  /** Every variable by a stable key, `<layer index>.<parameter>`. */
  namedVariables(): Map<string, tf.Variable> {
    return new Map(
      this.layers.flatMap((l, i) =>
        Object.entries({ ...l.params, ...l.state }).map(([k, v]) => [`${i}.${k}`, v] as const),
      ),
    );
  }

  afterUpdate(): void {
    for (const l of this.layers) l.afterUpdate();
  }

  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}

export interface ModelOptions {
  readonly seed?: number;
}

const CONV_INPUT = [IMAGE_SIZE, IMAGE_SIZE, 1] as const;

/** Seeds each weight layer from the model seed. */
function seeder(seed: number): () => number {
  let i = 0;
  return () => seed * 1000 + i++;
}

interface Quantization {
  readonly weights: WeightQuantizer;
  /** The activation: a layer (float nets), or the next weight layer's input quantizer. */
  readonly act: () => Layer[];
  readonly input: InputQuantizer;
  readonly finalBatchNorm: boolean;
}

const NO_INPUT: InputQuantizer = { type: 'none' };

/** The seed's MNIST conv net in full precision and its three quantized twins. */
export type MnistVariant = 'fp32' | 'binarynet' | 'ternarynet' | 'dorefa-w1a3';

const MNIST_VARIANTS: Readonly<Record<MnistVariant, Quantization>> = {
  fp32: { weights: { type: 'float' }, act: () => [new ReLU()], input: NO_INPUT, finalBatchNorm: false },
  binarynet: {
    weights: { type: 'binary', scale: 'none' },
    act: () => [new HTanh()],
    input: { type: 'sign' },
    finalBatchNorm: true,
  },
  ternarynet: {
    weights: { type: 'ternary' },
    act: () => [new ReLU()],
    input: NO_INPUT,
    finalBatchNorm: false,
  },
  'dorefa-w1a3': {
    weights: { type: 'dorefa', bits: 1 },
    act: () => [],
    input: { type: 'dorefa', bits: 3 },
    finalBatchNorm: false,
  },
} as const satisfies Record<string, Quantization>;

/**
 * The MNIST CNN: conv 32 5×5 → maxpool → BN → act → conv 64 5×5 → maxpool → BN → act → dense 256
 * → BN → act → dense 10 (→ BN for BinaryNet, as TensorLayer's). The first layer reads float pixels.
 */
function mnistCnn(name: string, q: Quantization, seed: number): Model {
  const next = seeder(seed);
  const last = q.finalBatchNorm;
  const pooled = IMAGE_SIZE / 4;
  const layers: Layer[] = [
    new Conv2d(1, 32, 5, { weights: q.weights, bias: false, seed: next() }),
    new MaxPool(2),
    new BatchNorm(32),
    ...q.act(),
    new Conv2d(32, 64, 5, { weights: q.weights, input: q.input, bias: false, seed: next() }),
    new MaxPool(2),
    new BatchNorm(64),
    ...q.act(),
    new Flatten(),
    new Dense(pooled * pooled * 64, 256, { weights: q.weights, input: q.input, bias: false, seed: next() }),
    new BatchNorm(256),
    ...q.act(),
    new Dense(256, 10, { weights: q.weights, input: q.input, bias: !last, seed: next() }),
    ...(last ? [new BatchNorm(10)] : []),
  ];
  return new Model(name, CONV_INPUT, layers);
}

/** LeNet-300-100 (784-300-100-10, ReLU), Deep Compression's MLP. */
function lenet300100(seed: number): Model {
  const next = seeder(seed);
  return new Model(
    'lenet-300-100',
    [PIXELS],
    [
      new Dense(PIXELS, 300, { seed: next() }),
      new ReLU(),
      new Dense(300, 100, { seed: next() }),
      new ReLU(),
      new Dense(100, 10, { seed: next() }),
    ],
  );
}

/** Caffe's LeNet-5: conv 20 5×5 → maxpool → conv 50 5×5 → maxpool → dense 500 → ReLU → dense 10. */
function lenet5(seed: number): Model {
  const next = seeder(seed);
  return new Model('lenet-5', CONV_INPUT, [
    new Conv2d(1, 20, 5, { padding: 'valid', seed: next() }),
    new MaxPool(2),
    new Conv2d(20, 50, 5, { padding: 'valid', seed: next() }),
    new MaxPool(2),
    new Flatten(),
    new Dense(4 * 4 * 50, 500, { seed: next() }),
    new ReLU(),
    new Dense(500, 10, { seed: next() }),
  ]);
}

const BUILDERS: Record<string, (seed: number) => Model> = {
  ...Object.fromEntries(
    Object.entries(MNIST_VARIANTS).map(([name, q]) => [name, (seed: number) => mnistCnn(name, q, seed)]),
  ),
  'lenet-300-100': lenet300100,
  'lenet-5': lenet5,
};

/** The named architectures `createModel` builds. */
export const MODEL_NAMES = Object.keys(BUILDERS) as readonly string[];

export type ModelName = MnistVariant | 'lenet-300-100' | 'lenet-5';

/** A fresh model with seeded Glorot weights. */
export function createModel(name: ModelName, { seed = 0 }: ModelOptions = {}): Model {
  const build = BUILDERS[name];
  if (!build)
    throw new TrainError(
      'invalid-argument',
      `unknown model '${name}'; choose one of ${MODEL_NAMES.join(', ')}.`,
    );
  return build(seed);
}
