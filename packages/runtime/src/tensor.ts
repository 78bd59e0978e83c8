import { RuntimeError } from './errors.js';

export const DTYPES = ['float32', 'int64', 'uint8', 'int8', 'bool'] as const;
export type DType = (typeof DTYPES)[number];
/** The dtypes that hold numbers arithmetic and ordering apply to (all but bool). */
export const NUMERIC_DTYPES: readonly DType[] = DTYPES.filter((d) => d !== 'bool');

/**
 * A host tensor. float32 in a Float32Array; int64 (shapes, indices) as exact numbers in a
 * Float64Array, which holds every integer a CNN graph uses; uint8 and bool in a Uint8Array; int8
 * (quantized weights and activations) in an Int8Array.
 */
export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array | Uint8Array | Int8Array;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensor(dtype: DType, shape: readonly number[], data: Tensor['data']): Tensor {
  if (data.length !== sizeOf(shape))
    throw new RuntimeError(
      'invalid-argument',
      `shape [${shape.join(', ')}] needs ${sizeOf(shape)} values, got ${data.length}.`,
    );
  return { dtype, shape: [...shape], data };
}

export function float32(
  shape: readonly number[],
  data: Float32Array = new Float32Array(sizeOf(shape)),
): Tensor {
  return tensor('float32', shape, data);
}

export function int64(shape: readonly number[], values: ArrayLike<number>): Tensor {
  return tensor('int64', shape, Float64Array.from(values));
}

/** The values of a tensor as plain numbers (for shape and index tensors). */
export function numbers(t: Tensor): number[] {
  return Array.from(t.data);
}

export function asFloat32(t: Tensor, what: string): Float32Array {
  if (t.dtype !== 'float32')
    throw new RuntimeError('invalid-input', `${what} must be float32, got ${t.dtype}.`);
  return t.data as Float32Array;
}
