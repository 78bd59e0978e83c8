import { checkInt, FormatError } from './errors.js';

/** Row-major dense matrix. */
export interface DenseMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/** Coordinate list, entries in any order (conversions produce row-major order). */
export interface CooMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly rowIdx: Uint32Array;
  readonly colIdx: Uint32Array;
  readonly values: Float32Array;
}

/** Compressed sparse rows: row r holds entries rowPtr[r] .. rowPtr[r+1]-1, columns strictly increasing. */
export interface CsrMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly rowPtr: Uint32Array;
  readonly colIdx: Uint32Array;
  readonly values: Float32Array;
}

/** Compressed sparse columns: column c holds entries colPtr[c] .. colPtr[c+1]-1, rows strictly increasing. */
export interface CscMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly colPtr: Uint32Array;
  readonly rowIdx: Uint32Array;
  readonly values: Float32Array;
}

/**
 * Block sparse rows with R×C blocks. Block row i holds blocks rowPtr[i] .. rowPtr[i+1]-1 whose block
 * columns are colIdx[..] (strictly increasing); block b's values are values[b·R·C ..] in row-major order.
 * Edge blocks of a matrix whose size is not a multiple of the block size are zero-padded.
 */
export interface BsrMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly blockRows: number;
  readonly blockCols: number;
  readonly rowPtr: Uint32Array;
  readonly colIdx: Uint32Array;
  readonly values: Float32Array;
}

/** Largest matrix side accepted: indices are stored as u32 and the GPU kernels read them as u32. */
export const MAX_DIM = 0x7fffffff;

export function checkShape(rows: number, cols: number): void {
  checkInt('rows', rows, 0, MAX_DIM);
  checkInt('cols', cols, 0, MAX_DIM);
}

/** A dense matrix over `data`, which must hold exactly rows·cols values. */
export function dense(rows: number, cols: number, data?: Float32Array): DenseMatrix {
  checkShape(rows, cols);
  const d = data ?? new Float32Array(rows * cols);
  if (d.length !== rows * cols) {
    throw new FormatError(
      'invalid-argument',
      `a ${rows}×${cols} dense matrix needs ${rows * cols} values, got ${d.length}.`,
    );
  }
  return { rows, cols, data: d };
}

/**
 * Views a convolution weight tensor in OIHW order as the O × (I·kh·kw) matrix that sparse
 * convolution and Deep Compression operate on. The data is shared, not copied.
 */
export function convWeightMatrix(
  weights: Float32Array,
  shape: readonly [number, number, number, number],
): DenseMatrix {
  const [o, i, kh, kw] = shape;
  return dense(o, i * kh * kw, weights);
}
