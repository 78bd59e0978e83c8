import { validateCsr } from './compressed.js';
import { checkInt, FormatError } from './errors.js';
import type { CsrMatrix } from './matrix.js';

/**
 * Deep Compression's relative indexing (Han et al., ICLR 2016, §2, Fig. 2) over a flattened array.
 * Each entry stores how many zeros precede it since the previous entry (the paper's index difference
 * minus one) in `bits` bits. A run of more than 2^bits − 1 zeros cannot be expressed, so a filler
 * zero is stored after 2^bits − 1 of them and the count starts again.
 */
export interface RelativeIndex {
  /** Length of the flattened array the entries index into. */
  readonly length: number;
  readonly bits: number;
  /** Zeros skipped before each entry, each in [0, 2^bits − 1]. The paper's "diff" is gap + 1. */
  readonly gaps: Uint16Array;
  /** Value of each entry; filler entries hold 0. */
  readonly values: Float32Array;
  /** Entries including fillers. */
  readonly entries: number;
  readonly fillers: number;
}

/** Entries and fillers a set of strictly increasing positions needs at `bits` bits (no allocation). */
export function relativeIndexSize(
  positions: ArrayLike<number>,
  bits: number,
): { entries: number; fillers: number } {
  checkInt('relative index bits', bits, 1, 16);
  const span = 2 ** bits;
  let prev = -1;
  let fillers = 0;
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i]!;
    fillers += Math.floor((p - prev - 1) / span);
    prev = p;
  }
  return { entries: positions.length + fillers, fillers };
}

/** Relative index of the entries at strictly increasing `positions` (< length) with `values`. */
export function relativeIndexFromPositions(
  positions: ArrayLike<number>,
  values: ArrayLike<number>,
  length: number,
  bits: number,
): RelativeIndex {
  checkInt('length', length, 0, 2 ** 32 - 1);
  if (positions.length !== values.length) {
    throw new FormatError(
      'invalid-argument',
      `${positions.length} positions but ${values.length} values; they must be equal.`,
    );
  }
  let prev = -1;
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i]!;
    if (!Number.isInteger(p) || p <= prev || p >= length) {
      throw new FormatError(
        'invalid-argument',
        `position ${p} at entry ${i} is not strictly increasing within [0, ${length}).`,
      );
    }
    prev = p;
  }
  const { entries, fillers } = relativeIndexSize(positions, bits);
  const maxGap = 2 ** bits - 1;
  const gaps = new Uint16Array(entries);
  const out = new Float32Array(entries);
  let k = 0;
  prev = -1;
  for (let i = 0; i < positions.length; i++) {
    let gap = positions[i]! - prev - 1;
    while (gap > maxGap) {
      gaps[k++] = maxGap;
      gap -= maxGap + 1;
    }
    gaps[k] = gap;
    out[k++] = values[i]!;
    prev = positions[i]!;
  }
  return { length, bits, gaps, values: out, entries, fillers };
}

/** Relative index of the non-zeros of `data` (row-major for a matrix). */
export function relativeIndexEncode(data: Float32Array, bits: number): RelativeIndex {
  const positions: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== 0) {
      positions.push(i);
      values.push(data[i]!);
    }
  }
  return relativeIndexFromPositions(positions, values, data.length, bits);
}

/** Relative index of a CSR matrix in row-major order (positions r·cols + c). */
export function csrToRelativeIndex(a: CsrMatrix, bits: number): RelativeIndex {
  validateCsr(a);
  const positions = new Float64Array(a.values.length);
  for (let r = 0; r < a.rows; r++) {
    for (let k = a.rowPtr[r]!; k < a.rowPtr[r + 1]!; k++) positions[k] = r * a.cols + a.colIdx[k]!;
  }
  return relativeIndexFromPositions(positions, a.values, a.rows * a.cols, bits);
}

/** Absolute position of every entry (fillers included); throws if the entries run past `length`. */
export function relativeIndexPositions(gaps: ArrayLike<number>, length: number): Float64Array {
  const positions = new Float64Array(gaps.length);
  let p = -1;
  for (let k = 0; k < gaps.length; k++) {
    p += gaps[k]! + 1;
    positions[k] = p;
  }
  if (p >= length) {
    throw new FormatError(
      'corrupt',
      `the relative index reaches position ${p}, past the ${length}-element array.`,
    );
  }
  return positions;
}

/** Dense array back from a relative index; fillers write their zero. */
export function relativeIndexDecode(ri: Pick<RelativeIndex, 'length' | 'gaps' | 'values'>): Float32Array {
  if (ri.gaps.length !== ri.values.length) {
    throw new FormatError(
      'invalid-structure',
      `${ri.gaps.length} gaps but ${ri.values.length} values; they must be equal.`,
    );
  }
  const positions = relativeIndexPositions(ri.gaps, ri.length);
  const out = new Float32Array(ri.length);
  for (let k = 0; k < positions.length; k++) out[positions[k]!] = ri.values[k]!;
  return out;
}
