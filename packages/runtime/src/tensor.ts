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

/** Bytes per value as files store a tensor's values (.npy, .zsk raw weights, ONNX raw data). */
export const VALUE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  int64: 8,
  uint8: 1,
  int8: 1,
  bool: 1,
};

/** A tensor's values as files store them: little-endian, {@link VALUE_BYTES} each. */
export function valueBytes(t: Tensor): Uint8Array {
  if (t.dtype === 'float32') return new Uint8Array(Float32Array.from(t.data).buffer);
  if (t.dtype === 'int64') return new Uint8Array(BigInt64Array.from(t.data, (v) => BigInt(v)).buffer);
  return Uint8Array.from(t.data);
}

/** Values of `dtype` from bytes {@link valueBytes} wrote (copied), in this module's layout. */
export function valuesFromBytes(dtype: DType, bytes: Uint8Array): Tensor['data'] {
  // a fresh buffer of exactly these bytes: a Node Buffer's slice() is a view into a shared pool
  const copy = new Uint8Array(bytes);
  if (dtype === 'float32') return new Float32Array(copy.buffer);
  if (dtype === 'int64') return Float64Array.from(new BigInt64Array(copy.buffer), Number);
  return dtype === 'int8' ? new Int8Array(copy.buffer) : copy;
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
