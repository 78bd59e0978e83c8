import { checkInt, FormatError } from './errors.js';
import { type BsrMatrix, checkShape, type DenseMatrix, dense } from './matrix.js';

function blockGrid(a: { rows: number; cols: number; blockRows: number; blockCols: number }) {
  checkShape(a.rows, a.cols);
  checkInt('blockRows', a.blockRows, 1, 1024);
  checkInt('blockCols', a.blockCols, 1, 1024);
  return { br: Math.ceil(a.rows / a.blockRows), bc: Math.ceil(a.cols / a.blockCols) };
}

/** Dense → BSR with R×C blocks; a block is kept when any of its values is non-zero. */
export function denseToBsr(a: DenseMatrix, blockRows: number, blockCols: number): BsrMatrix {
  const { rows, cols, data } = dense(a.rows, a.cols, a.data);
  const { br, bc } = blockGrid({ rows, cols, blockRows, blockCols });
  const size = blockRows * blockCols;
  const rowPtr = new Uint32Array(br + 1);
  const kept: number[] = [];
  for (let i = 0; i < br; i++) {
    for (let j = 0; j < bc; j++) {
      if (blockHasNonzero(data, rows, cols, i * blockRows, j * blockCols, blockRows, blockCols)) kept.push(j);
    }
    rowPtr[i + 1] = kept.length;
  }
  const colIdx = Uint32Array.from(kept);
  const values = new Float32Array(kept.length * size);
  for (let i = 0; i < br; i++) {
    for (let b = rowPtr[i]!; b < rowPtr[i + 1]!; b++) {
      const c0 = colIdx[b]! * blockCols;
      for (let y = 0; y < blockRows && i * blockRows + y < rows; y++) {
        const src = (i * blockRows + y) * cols;
        for (let x = 0; x < blockCols && c0 + x < cols; x++)
          values[b * size + y * blockCols + x] = data[src + c0 + x]!;
      }
    }
  }
  return { rows, cols, blockRows, blockCols, rowPtr, colIdx, values };
}

function blockHasNonzero(
  data: Float32Array,
  rows: number,
  cols: number,
  r0: number,
  c0: number,
  h: number,
  w: number,
): boolean {
  for (let y = r0; y < Math.min(r0 + h, rows); y++) {
    for (let x = c0; x < Math.min(c0 + w, cols); x++) if (data[y * cols + x] !== 0) return true;
  }
  return false;
}

/** Checks every BSR invariant, including that the padding of edge blocks is zero. */
export function validateBsr(a: BsrMatrix): void {
  const { br, bc } = blockGrid(a);
  const size = a.blockRows * a.blockCols;
  const { rowPtr, colIdx, values } = a;
  if (rowPtr.length !== br + 1) {
    throw new FormatError(
      'invalid-structure',
      `BSR rowPtr has ${rowPtr.length} entries but needs ${br + 1} (one per block row plus one).`,
    );
  }
  if (rowPtr[0] !== 0)
    throw new FormatError('invalid-structure', `BSR rowPtr[0] must be 0, got ${rowPtr[0]}.`);
  if (rowPtr[br] !== colIdx.length) {
    throw new FormatError(
      'invalid-structure',
      `BSR rowPtr[${br}] = ${rowPtr[br]} but ${colIdx.length} blocks are stored; they must be equal.`,
    );
  }
  if (values.length !== colIdx.length * size) {
    throw new FormatError(
      'invalid-structure',
      `BSR stores ${colIdx.length} blocks of ${size} values, so values needs ${colIdx.length * size} entries, got ${values.length}.`,
    );
  }
  for (let i = 0; i < br; i++) {
    if (rowPtr[i + 1]! < rowPtr[i]!) {
      throw new FormatError('invalid-structure', `BSR rowPtr is not monotone at block row ${i}.`);
    }
    for (let b = rowPtr[i]!; b < rowPtr[i + 1]!; b++) {
      const j = colIdx[b]!;
      if (j >= bc)
        throw new FormatError(
          'invalid-structure',
          `BSR block column ${j} at block ${b} is out of range [0, ${bc}).`,
        );
      if (b > rowPtr[i]! && j <= colIdx[b - 1]!) {
        throw new FormatError(
          'invalid-structure',
          `BSR block columns of block row ${i} are not strictly increasing at block ${b}.`,
        );
      }
      for (let y = 0; y < a.blockRows; y++) {
        for (let x = 0; x < a.blockCols; x++) {
          const outside = i * a.blockRows + y >= a.rows || j * a.blockCols + x >= a.cols;
          if (outside && values[b * size + y * a.blockCols + x] !== 0) {
            throw new FormatError(
              'invalid-structure',
              `BSR block ${b} has a non-zero value in its padding outside the matrix.`,
            );
          }
        }
      }
    }
  }
}

export function bsrToDense(a: BsrMatrix): DenseMatrix {
  validateBsr(a);
  const { rows, cols, blockRows: h, blockCols: w } = a;
  const out = new Float32Array(rows * cols);
  for (let i = 0; i + 1 < a.rowPtr.length; i++) {
    for (let b = a.rowPtr[i]!; b < a.rowPtr[i + 1]!; b++) {
      const c0 = a.colIdx[b]! * w;
      for (let y = 0; y < h && i * h + y < rows; y++) {
        for (let x = 0; x < w && c0 + x < cols; x++)
          out[(i * h + y) * cols + c0 + x] = a.values[b * h * w + y * w + x]!;
      }
    }
  }
  return { rows, cols, data: out };
}
