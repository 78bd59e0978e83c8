import fc from 'fast-check';
import type { DenseMatrix } from './matrix.js';

/** Seeded matrix of the given density with values that are never ±0 where kept. */
export function randomSparse(rows: number, cols: number, density: number, seed: number): DenseMatrix {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) if (next() < density) data[i] = next() * 2 - 1 || 0.5;
  return { rows, cols, data };
}

/** Matrices from empty and 1×1 up to 40×40, all-zero through all-non-zero. */
export const sparseMatrix = fc
  .record({
    rows: fc.integer({ min: 0, max: 40 }),
    cols: fc.integer({ min: 0, max: 40 }),
    density: fc.constantFrom(0, 0.05, 0.3, 0.9, 1),
    seed: fc.integer({ min: 1, max: 2 ** 31 }),
  })
  .map(({ rows, cols, density, seed }) => randomSparse(rows, cols, density, seed));

/** Byte-wise equality of typed arrays (vitest's deep equality is too slow for millions of elements). */
export function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}
