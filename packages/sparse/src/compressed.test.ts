import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bsrToDense, denseToBsr, validateBsr } from './bsr.js';
import {
  cooToCsr,
  cooToDense,
  cscToCsr,
  cscToDense,
  csrToCsc,
  csrToDense,
  csrToDenseInto,
  denseToCoo,
  denseToCsc,
  denseToCsr,
  transposeCsr,
  validateCoo,
  validateCsr,
} from './compressed.js';
import { FormatError } from './errors.js';
import { convWeightMatrix, dense } from './matrix.js';
import { bsrStats, csrStats } from './stats.js';
import { randomSparse, sameBytes, sparseMatrix } from './test-arbitraries.js';

describe('format round trips', () => {
  it('dense ↔ CSR, CSC, COO and CSR ↔ CSC are exact', () => {
    fc.assert(
      fc.property(sparseMatrix, (m) => {
        const csr = denseToCsr(m);
        validateCsr(csr);
        expect(csrToDense(csr).data).toEqual(m.data);
        expect(cscToDense(denseToCsc(m)).data).toEqual(m.data);
        expect(cooToDense(denseToCoo(m)).data).toEqual(m.data);
        expect(cscToCsr(csrToCsc(csr))).toEqual(csr);
      }),
      { numRuns: 200 },
    );
  });

  it('BSR round trips for block sizes that do and do not divide the matrix', () => {
    fc.assert(
      fc.property(sparseMatrix, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), (m, r, c) => {
        const b = denseToBsr(m, r, c);
        validateBsr(b);
        expect(bsrToDense(b).data).toEqual(m.data);
      }),
      { numRuns: 200 },
    );
  });

  it('round trips at the largest conv shape, 512×4608 at 90% sparsity', () => {
    const m = randomSparse(512, 4608, 0.1, 7);
    const csr = denseToCsr(m);
    expect(sameBytes(csrToDense(csr).data, m.data)).toBe(true);
    const back = cscToCsr(csrToCsc(csr));
    expect(
      sameBytes(back.colIdx, csr.colIdx) &&
        sameBytes(back.rowPtr, csr.rowPtr) &&
        sameBytes(back.values, csr.values),
    ).toBe(true);
    expect(sameBytes(bsrToDense(denseToBsr(m, 4, 4)).data, m.data)).toBe(true);
  });

  it('transposeCsr is the transpose', () => {
    const m = randomSparse(7, 11, 0.3, 3);
    const t = csrToDense(transposeCsr(denseToCsr(m)));
    expect(t.rows).toBe(11);
    for (let r = 0; r < 7; r++)
      for (let c = 0; c < 11; c++) expect(t.data[c * 7 + r]).toBe(m.data[r * 11 + c]);
  });

  it('COO in any order sorts into the same CSR', () => {
    const m = randomSparse(9, 6, 0.4, 11);
    const coo = denseToCoo(m);
    const perm = Array.from(coo.values, (_, i) => i).reverse();
    const shuffled = {
      ...coo,
      rowIdx: Uint32Array.from(perm, (i) => coo.rowIdx[i]!),
      colIdx: Uint32Array.from(perm, (i) => coo.colIdx[i]!),
      values: Float32Array.from(perm, (i) => coo.values[i]!),
    };
    expect(cooToCsr(shuffled)).toEqual(denseToCsr(m));
  });

  it('views OIHW conv weights as O × (I·kh·kw) without copying', () => {
    const w = new Float32Array(2 * 3 * 3 * 3);
    const m = convWeightMatrix(w, [2, 3, 3, 3]);
    expect([m.rows, m.cols]).toEqual([2, 27]);
    expect(m.data).toBe(w);
  });
});

describe('csrToDenseInto', () => {
  it('overwrites every element of a dirty output with the dense matrix', () => {
    fc.assert(
      fc.property(sparseMatrix, (m) => {
        const out = new Float32Array(m.rows * m.cols).fill(Number.NaN);
        expect(csrToDenseInto(denseToCsr(m), out)).toBe(out);
        expect(sameBytes(out, m.data)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
  it('refuses an output of the wrong length', () => {
    const csr = denseToCsr(dense(2, 3, Float32Array.from([1, 0, 2, 0, 3, 0])));
    expect(() => csrToDenseInto(csr, new Float32Array(5))).toThrow(/needs 6 values/);
  });
});

/** Every CSR invariant checked element by element, independently of the validator. */
function csrInvariantsHold(a: {
  rows: number;
  cols: number;
  rowPtr: Uint32Array;
  colIdx: Uint32Array;
  values: Float32Array;
}): boolean {
  if (a.rowPtr.length !== a.rows + 1 || a.rowPtr[0] !== 0 || a.colIdx.length !== a.values.length)
    return false;
  if (a.rowPtr[a.rows] !== a.colIdx.length) return false;
  for (let r = 0; r < a.rows; r++) {
    const [s, e] = [a.rowPtr[r]!, a.rowPtr[r + 1]!];
    if (e < s || e > a.colIdx.length) return false;
    for (let k = s; k < e; k++) {
      if (a.colIdx[k]! >= a.cols) return false;
      if (k > s && a.colIdx[k]! <= a.colIdx[k - 1]!) return false;
    }
  }
  return true;
}

describe('validateCsr agrees with the invariants', () => {
  it('accepts exactly the structures whose invariants hold, naming what breaks', () => {
    fc.assert(
      fc.property(
        sparseMatrix,
        fc.constantFrom('rowPtr', 'colIdx'),
        fc.nat(),
        fc.integer({ min: -3, max: 3 }),
        (m, field, at, delta) => {
          const csr = denseToCsr(m);
          const arr = csr[field].slice();
          if (arr.length > 0) arr[at % arr.length] = Math.max(0, arr[at % arr.length]! + delta);
          const bent = { ...csr, [field]: arr };
          if (csrInvariantsHold(bent)) expect(() => validateCsr(bent)).not.toThrow();
          else expect(() => validateCsr(bent)).toThrow(/^CSR /);
        },
      ),
      { numRuns: 500, seed: 13 },
    );
  });
});

describe('validation names the broken invariant', () => {
  const good = denseToCsr(dense(2, 3, Float32Array.from([1, 0, 2, 0, 3, 0])));
  const broken = (patch: Partial<typeof good>) => () => validateCsr({ ...good, ...patch });

  it('rejects non-monotone row pointers', () => {
    expect(broken({ rowPtr: Uint32Array.from([0, 2, 1]) })).toThrow(/not monotone/);
  });
  it('rejects a column out of range', () => {
    expect(broken({ colIdx: Uint32Array.from([0, 3, 1]) })).toThrow(/column index 3 .* out of range/);
  });
  it('rejects wrong lengths', () => {
    expect(broken({ rowPtr: Uint32Array.from([0, 2]) })).toThrow(/needs 3/);
    expect(broken({ values: new Float32Array(2) })).toThrow(/3 column indices but 2 values/);
  });
  it('rejects unsorted columns in a row', () => {
    expect(broken({ colIdx: Uint32Array.from([2, 0, 1]) })).toThrow(/strictly increasing/);
  });
  it('rejects duplicate COO coordinates', () => {
    const coo = {
      rows: 2,
      cols: 2,
      rowIdx: Uint32Array.from([1, 1]),
      colIdx: Uint32Array.from([0, 0]),
      values: Float32Array.from([1, 2]),
    };
    expect(() => validateCoo(coo)).toThrow(/appears twice/);
  });
  it('rejects BSR padding that is not zero', () => {
    const b = denseToBsr(dense(3, 3, new Float32Array(9).fill(1)), 2, 2);
    const values = b.values.slice();
    values[values.length - 1] = 5;
    expect(() => validateBsr({ ...b, values })).toThrow(/padding/);
  });
  it('uses one error class with a code', () => {
    try {
      broken({ rowPtr: Uint32Array.from([1, 2, 3]) })();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FormatError);
      expect((e as FormatError).code).toBe('invalid-structure');
    }
  });
  it('rejects a dense matrix whose data does not match its shape', () => {
    expect(() => dense(2, 2, new Float32Array(3))).toThrow(FormatError);
  });
});

describe('statistics', () => {
  it('counts nnz, density, the row histogram and load imbalance', () => {
    // rows with 2, 0, 1 and 3 non-zeros
    const m = dense(4, 3, Float32Array.from([1, 2, 0, 0, 0, 0, 0, 0, 4, 5, 6, 7]));
    const s = csrStats(denseToCsr(m));
    expect(s.nnz).toBe(6);
    expect(s.density).toBeCloseTo(0.5);
    expect(Array.from(s.rowNnzHistogram)).toEqual([1, 1, 1, 1]);
    expect(s.maxRowNnz).toBe(3);
    expect(s.loadImbalance).toBeCloseTo(3 / 1.5);
  });
  it('reports block density and fill efficiency', () => {
    const m = dense(4, 4, Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 0, 0, 4, 5]));
    const s = bsrStats(denseToBsr(m, 2, 2));
    expect(s.blocks).toBe(2);
    expect(s.totalBlocks).toBe(4);
    expect(s.blockDensity).toBe(0.5);
    expect(s.fillEfficiency).toBeCloseTo(5 / 8);
  });
});
