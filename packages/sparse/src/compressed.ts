import { FormatError } from './errors.js';
import {
  type CooMatrix,
  type CscMatrix,
  type CsrMatrix,
  checkShape,
  type DenseMatrix,
  dense,
} from './matrix.js';

/** CSR and CSC are one structure seen along rows or columns; these helpers work on that structure. */
interface Compressed {
  readonly major: number;
  readonly minor: number;
  readonly ptr: Uint32Array;
  readonly idx: Uint32Array;
  readonly values: Float32Array;
}

interface Names {
  readonly format: string;
  readonly ptr: string;
  readonly majorName: string;
  readonly minorName: string;
}

const CSR_NAMES: Names = { format: 'CSR', ptr: 'rowPtr', majorName: 'row', minorName: 'column' };
const CSC_NAMES: Names = { format: 'CSC', ptr: 'colPtr', majorName: 'column', minorName: 'row' };

/**
 * Whether every invariant holds, in one pass that reads each index once: layers built from decoded
 * weights validate millions of entries at load, so the pass that names what is broken runs only after
 * this one finds something.
 */
function compressedValid(m: Compressed): boolean {
  const { major, minor, ptr, idx, values } = m;
  const nnz = idx.length;
  if (ptr.length !== major + 1 || ptr[0] !== 0 || values.length !== nnz || ptr[major] !== nnz) return false;
  let start = 0;
  for (let r = 0; r < major; r++) {
    const end = ptr[r + 1]!;
    if (end < start || end > nnz) return false;
    if (end > start) {
      // strictly increasing, so only the row's last index can reach past the columns
      let prev = idx[start]!;
      for (let k = start + 1; k < end; k++) {
        const c = idx[k]!;
        if (c <= prev) return false;
        prev = c;
      }
      if (prev >= minor) return false;
    }
    start = end;
  }
  return true;
}

function validateCompressed(m: Compressed, n: Names): void {
  if (!compressedValid(m)) explainInvalid(m, n);
}

/** Throws a {@link FormatError} naming the first broken invariant of a structure found invalid. */
function explainInvalid(m: Compressed, n: Names): never {
  const { major, minor, ptr, idx, values } = m;
  if (ptr.length !== major + 1) {
    throw new FormatError(
      'invalid-structure',
      `${n.format} ${n.ptr} has ${ptr.length} entries but needs ${major + 1} (one per ${n.majorName} plus one).`,
    );
  }
  if (ptr[0] !== 0)
    throw new FormatError('invalid-structure', `${n.format} ${n.ptr}[0] must be 0, got ${ptr[0]}.`);
  if (idx.length !== values.length) {
    throw new FormatError(
      'invalid-structure',
      `${n.format} has ${idx.length} ${n.minorName} indices but ${values.length} values; they must be equal.`,
    );
  }
  for (let r = 0; r < major; r++) {
    const start = ptr[r]!;
    const end = ptr[r + 1]!;
    if (end < start) {
      throw new FormatError(
        'invalid-structure',
        `${n.format} ${n.ptr} is not monotone: ${n.ptr}[${r + 1}] = ${end} < ${n.ptr}[${r}] = ${start}.`,
      );
    }
    if (end > idx.length) {
      throw new FormatError(
        'invalid-structure',
        `${n.format} ${n.ptr}[${r + 1}] = ${end} points past the ${idx.length} stored entries.`,
      );
    }
    for (let k = start; k < end; k++) {
      const c = idx[k]!;
      if (c >= minor) {
        throw new FormatError(
          'invalid-structure',
          `${n.format} ${n.minorName} index ${c} at entry ${k} is out of range [0, ${minor}).`,
        );
      }
      if (k > start && c <= idx[k - 1]!) {
        throw new FormatError(
          'invalid-structure',
          `${n.format} ${n.minorName} indices of ${n.majorName} ${r} are not strictly increasing at entry ${k}.`,
        );
      }
    }
  }
  if (ptr[major] !== idx.length) {
    throw new FormatError(
      'invalid-structure',
      `${n.format} ${n.ptr}[${major}] = ${ptr[major]} but ${idx.length} entries are stored; they must be equal.`,
    );
  }
  throw new FormatError('invalid-structure', `${n.format} breaks an invariant; validate it entry by entry.`);
}

/** Transposes the compressed structure: CSR of A becomes CSC of A (= CSR of Aᵀ) and back. */
function transposeCompressed(m: Compressed): Compressed {
  const nnz = m.idx.length;
  const ptr = new Uint32Array(m.minor + 1);
  for (let k = 0; k < nnz; k++) ptr[m.idx[k]! + 1]!++;
  for (let c = 0; c < m.minor; c++) ptr[c + 1]! += ptr[c]!;
  const next = ptr.slice(0, m.minor);
  const idx = new Uint32Array(nnz);
  const values = new Float32Array(nnz);
  for (let r = 0; r < m.major; r++) {
    for (let k = m.ptr[r]!; k < m.ptr[r + 1]!; k++) {
      const dst = next[m.idx[k]!]!++;
      idx[dst] = r;
      values[dst] = m.values[k]!;
    }
  }
  return { major: m.minor, minor: m.major, ptr, idx, values };
}

const asCompressedCsr = (a: CsrMatrix): Compressed => ({
  major: a.rows,
  minor: a.cols,
  ptr: a.rowPtr,
  idx: a.colIdx,
  values: a.values,
});
const asCompressedCsc = (a: CscMatrix): Compressed => ({
  major: a.cols,
  minor: a.rows,
  ptr: a.colPtr,
  idx: a.rowIdx,
  values: a.values,
});

/** Checks every CSR invariant; throws a {@link FormatError} naming the first one broken. */
export function validateCsr(a: CsrMatrix): void {
  checkShape(a.rows, a.cols);
  validateCompressed(asCompressedCsr(a), CSR_NAMES);
}

/** Checks every CSC invariant; throws a {@link FormatError} naming the first one broken. */
export function validateCsc(a: CscMatrix): void {
  checkShape(a.rows, a.cols);
  validateCompressed(asCompressedCsc(a), CSC_NAMES);
}

/** Counts the non-zeros of a dense array (NaN counts as non-zero: it is not a pruned weight). */
export function countNonzeros(data: Float32Array): number {
  let nnz = 0;
  // branch-free: pruned weights put zeros and non-zeros in no predictable order
  for (let i = 0; i < data.length; i++) nnz += Number(data[i] !== 0);
  return nnz;
}

/** Dense → CSR, dropping exact zeros (±0). */
export function denseToCsr(a: DenseMatrix): CsrMatrix {
  const { rows, cols, data } = dense(a.rows, a.cols, a.data);
  const nnz = countNonzeros(data);
  const rowPtr = new Uint32Array(rows + 1);
  const colIdx = new Uint32Array(nnz);
  const values = new Float32Array(nnz);
  let k = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const v = data[base + c]!;
      if (v !== 0) {
        colIdx[k] = c;
        values[k++] = v;
      }
    }
    rowPtr[r + 1] = k;
  }
  return { rows, cols, rowPtr, colIdx, values };
}

/** CSR → dense. Validates first, so a malformed matrix never writes out of bounds. */
export function csrToDense(a: CsrMatrix): DenseMatrix {
  return { rows: a.rows, cols: a.cols, data: csrToDenseInto(a, new Float32Array(a.rows * a.cols)) };
}

/**
 * CSR → dense, written row-major into `out` (zeroed first; rows·cols long): a caller that owns the
 * destination, such as a GPU buffer mapped for writing, never allocates and copies the dense matrix.
 */
export function csrToDenseInto(a: CsrMatrix, out: Float32Array): Float32Array {
  validateCsr(a);
  if (out.length !== a.rows * a.cols)
    throw new FormatError(
      'invalid-argument',
      `a ${a.rows}×${a.cols} matrix needs ${a.rows * a.cols} values, the output holds ${out.length}.`,
    );
  out.fill(0);
  const { cols, rowPtr, colIdx, values } = a;
  for (let r = 0, base = 0; r < a.rows; r++, base += cols)
    for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) out[base + colIdx[k]!] = values[k]!;
  return out;
}

export function csrToCsc(a: CsrMatrix): CscMatrix {
  validateCsr(a);
  const t = transposeCompressed(asCompressedCsr(a));
  return { rows: a.rows, cols: a.cols, colPtr: t.ptr, rowIdx: t.idx, values: t.values };
}

export function cscToCsr(a: CscMatrix): CsrMatrix {
  validateCsc(a);
  const t = transposeCompressed(asCompressedCsc(a));
  return { rows: a.rows, cols: a.cols, rowPtr: t.ptr, colIdx: t.idx, values: t.values };
}

/** The transpose Aᵀ in CSR (the same arrays as CSC of A). */
export function transposeCsr(a: CsrMatrix): CsrMatrix {
  const c = csrToCsc(a);
  return { rows: a.cols, cols: a.rows, rowPtr: c.colPtr, colIdx: c.rowIdx, values: c.values };
}

export function denseToCsc(a: DenseMatrix): CscMatrix {
  return csrToCsc(denseToCsr(a));
}

export function cscToDense(a: CscMatrix): DenseMatrix {
  return csrToDense(cscToCsr(a));
}

/** Checks COO: equal lengths, indices in range, no duplicate coordinates. */
export function validateCoo(a: CooMatrix): void {
  checkShape(a.rows, a.cols);
  const n = a.values.length;
  if (a.rowIdx.length !== n || a.colIdx.length !== n) {
    throw new FormatError(
      'invalid-structure',
      `COO needs equal lengths, got ${a.rowIdx.length} rows, ${a.colIdx.length} columns, ${n} values.`,
    );
  }
  const seen = new Set<number>();
  for (let k = 0; k < n; k++) {
    const r = a.rowIdx[k]!;
    const c = a.colIdx[k]!;
    if (r >= a.rows)
      throw new FormatError(
        'invalid-structure',
        `COO row ${r} at entry ${k} is out of range [0, ${a.rows}).`,
      );
    if (c >= a.cols)
      throw new FormatError(
        'invalid-structure',
        `COO column ${c} at entry ${k} is out of range [0, ${a.cols}).`,
      );
    const key = r * a.cols + c;
    if (seen.has(key))
      throw new FormatError('invalid-structure', `COO coordinate (${r}, ${c}) appears twice (entry ${k}).`);
    seen.add(key);
  }
}

/** COO (any order) → CSR, sorted by row then column. */
export function cooToCsr(a: CooMatrix): CsrMatrix {
  validateCoo(a);
  const n = a.values.length;
  const rowPtr = new Uint32Array(a.rows + 1);
  for (let k = 0; k < n; k++) rowPtr[a.rowIdx[k]! + 1]!++;
  for (let r = 0; r < a.rows; r++) rowPtr[r + 1]! += rowPtr[r]!;
  const order = Array.from({ length: n }, (_, k) => k).sort(
    (x, y) => a.rowIdx[x]! - a.rowIdx[y]! || a.colIdx[x]! - a.colIdx[y]!,
  );
  const colIdx = new Uint32Array(n);
  const values = new Float32Array(n);
  order.forEach((src, dst) => {
    colIdx[dst] = a.colIdx[src]!;
    values[dst] = a.values[src]!;
  });
  return { rows: a.rows, cols: a.cols, rowPtr, colIdx, values };
}

export function csrToCoo(a: CsrMatrix): CooMatrix {
  validateCsr(a);
  const n = a.values.length;
  const rowIdx = new Uint32Array(n);
  for (let r = 0; r < a.rows; r++) rowIdx.fill(r, a.rowPtr[r]!, a.rowPtr[r + 1]!);
  return { rows: a.rows, cols: a.cols, rowIdx, colIdx: a.colIdx.slice(), values: a.values.slice() };
}

export function denseToCoo(a: DenseMatrix): CooMatrix {
  return csrToCoo(denseToCsr(a));
}

export function cooToDense(a: CooMatrix): DenseMatrix {
  return csrToDense(cooToCsr(a));
}
