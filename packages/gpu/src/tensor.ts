/** A tensor on the GPU: a storage buffer of 4-byte elements with a logical shape (row-major). */
export interface GpuTensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly size: number;
  readonly dtype: 'f32' | 'u32' | 'i32';
}

export type TensorData = Float32Array | Uint32Array | Int32Array;

/** Bytes of a tensor of `size` elements (at least 4: WebGPU bindings cannot be empty). */
export function tensorBytes(size: number): number {
  return Math.max(4, size * 4);
}

/** A view of the same buffer with another shape of the same size (flatten, reshape). */
export function reshape(t: GpuTensor, shape: readonly number[]): GpuTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== t.size) throw new Error(`cannot view ${t.size} elements as [${shape.join(', ')}].`);
  return { ...t, shape: [...shape] };
}

/** Row-major element strides of a shape. */
export function strides(shape: readonly number[]): number[] {
  return shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
}
