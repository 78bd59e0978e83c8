import { validateCsr } from './compressed.js';
import type { BsrMatrix, CsrMatrix } from './matrix.js';

export interface SparsityStats {
  readonly rows: number;
  readonly cols: number;
  readonly nnz: number;
  /** nnz / (rows·cols); 0 for an empty matrix. */
  readonly density: number;
  /** 1 − density. */
  readonly sparsity: number;
  /** histogram[k] = number of rows with exactly k non-zeros (length maxRowNnz + 1). */
  readonly rowNnzHistogram: Uint32Array;
  readonly maxRowNnz: number;
  readonly meanRowNnz: number;
  /** max / mean row nnz: 1 is perfectly balanced; what a one-thread-per-row kernel waits on. 0 when empty. */
  readonly loadImbalance: number;
}

export function csrStats(a: CsrMatrix): SparsityStats {
  validateCsr(a);
  const nnz = a.values.length;
  let maxRowNnz = 0;
  for (let r = 0; r < a.rows; r++) maxRowNnz = Math.max(maxRowNnz, a.rowPtr[r + 1]! - a.rowPtr[r]!);
  const rowNnzHistogram = new Uint32Array(maxRowNnz + 1);
  for (let r = 0; r < a.rows; r++) rowNnzHistogram[a.rowPtr[r + 1]! - a.rowPtr[r]!]!++;
  const cells = a.rows * a.cols;
  const density = cells === 0 ? 0 : nnz / cells;
  const meanRowNnz = a.rows === 0 ? 0 : nnz / a.rows;
  return {
    rows: a.rows,
    cols: a.cols,
    nnz,
    density,
    sparsity: 1 - density,
    rowNnzHistogram,
    maxRowNnz,
    meanRowNnz,
    loadImbalance: meanRowNnz === 0 ? 0 : maxRowNnz / meanRowNnz,
  };
}

export interface BlockStats {
  readonly blocks: number;
  readonly totalBlocks: number;
  /** Stored blocks / all blocks of the grid. */
  readonly blockDensity: number;
  /** Non-zeros inside stored blocks / stored cells: how much of a BSR kernel's work is useful. */
  readonly fillEfficiency: number;
}

export function bsrStats(a: BsrMatrix): BlockStats {
  const blocks = a.colIdx.length;
  const totalBlocks = Math.ceil(a.rows / a.blockRows) * Math.ceil(a.cols / a.blockCols);
  let nz = 0;
  for (let i = 0; i < a.values.length; i++) if (a.values[i] !== 0) nz++;
  return {
    blocks,
    totalBlocks,
    blockDensity: totalBlocks === 0 ? 0 : blocks / totalBlocks,
    fillEfficiency: a.values.length === 0 ? 0 : nz / a.values.length,
  };
}
