import { seededRandom } from '@zeroskip/quant';
import { float32, type GraphInput, type Tensor } from '@zeroskip/runtime';
import { UsageError } from './args.js';
import { imageToPlanes, type Rgba } from './image.js';

export interface InputOptions {
  /** Values: uniform in [0, 1) from this seed, or the image. */
  readonly seed?: number;
  readonly image?: Rgba;
  /** The batch size, where the model leaves it dynamic (default 1). */
  readonly batch?: number;
}

const dims = (shape: readonly number[]) => `[${shape.map((d) => (d < 0 ? '?' : d)).join(', ')}]`;

/** The input's shape with the batch filled in; any other dynamic dimension is a usage mistake. */
export function concreteShape(input: GraphInput, batch: number | undefined): number[] {
  const [first, ...rest] = input.shape;
  if (first === undefined)
    throw new UsageError(`input '${input.name}' is a scalar; there is nothing to batch.`);
  if (batch !== undefined && first >= 0 && first !== batch)
    throw new UsageError(
      `input '${input.name}' ${dims(input.shape)} has a fixed batch of ${first}, not ${batch}.`,
    );
  const open = rest.flatMap((d, i) => (d < 0 ? [i + 1] : []));
  if (open.length > 0)
    throw new UsageError(
      `input '${input.name}' ${dims(input.shape)} leaves axis ${open.join(', ')} dynamic; only the batch (axis 0) can be chosen, with --batch.`,
    );
  return [first >= 0 ? first : (batch ?? 1), ...rest];
}

/** A float32 tensor for one model input: seeded uniform noise, or an image repeated over the batch. */
export function makeInput(input: GraphInput, options: InputOptions): Tensor {
  if (input.dtype !== 'float32')
    throw new UsageError(
      `input '${input.name}' is ${input.dtype}; zeroskip input writes float32 inputs only.`,
    );
  const shape = concreteShape(input, options.batch);
  const size = shape.reduce((a, b) => a * b, 1);
  if (!options.image) {
    const random = seededRandom(options.seed ?? 0);
    return float32(shape, Float32Array.from({ length: size }, random));
  }
  const [n, c, h, w] = shape;
  if (shape.length !== 4 || (c !== 1 && c !== 3))
    throw new UsageError(
      `--image needs an N×C×H×W input with 1 (grayscale) or 3 (RGB) channels; '${input.name}' is ${dims(shape)}.`,
    );
  const planes = imageToPlanes(options.image, c, h!, w!);
  const data = new Float32Array(size);
  for (let i = 0; i < n!; i++) data.set(planes, i * planes.length);
  return float32(shape, data);
}
