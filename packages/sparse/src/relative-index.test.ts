import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { denseToCsr } from './compressed.js';
import { FormatError } from './errors.js';
import {
  csrToRelativeIndex,
  relativeIndexDecode,
  relativeIndexEncode,
  relativeIndexSize,
} from './relative-index.js';
import { randomSparse, sparseMatrix } from './test-arbitraries.js';

describe('relative indexing (Deep Compression §2)', () => {
  it('reproduces Fig. 2 entry for entry (3-bit bound)', () => {
    // Fig. 2 numbers its 16 cells from 1: 3.4 in cell 1, 0.9 in cell 4, 1.7 in cell 15.
    const data = new Float32Array(16);
    data[0] = 3.4;
    data[3] = 0.9;
    data[14] = 1.7;
    const ri = relativeIndexEncode(data, 3);
    expect(Array.from(ri.gaps, (g) => g + 1)).toEqual([1, 3, 8, 3]); // the figure's "diff" row
    expect(Array.from(ri.values)).toEqual([Math.fround(3.4), Math.fround(0.9), 0, Math.fround(1.7)]);
    expect(ri.fillers).toBe(1);
    expect(ri.entries).toBe(4);
  });

  it('inserts a filler exactly when a gap exceeds 2^b − 1', () => {
    for (const b of [1, 3, 8, 16]) {
      const max = 2 ** b - 1;
      for (const [zeros, fillers] of [
        [max, 0],
        [max + 1, 1],
        [2 * max + 1, 1],
        [2 * max + 2, 2],
      ] as const) {
        const data = new Float32Array(zeros + 1);
        data[zeros] = 1;
        const ri = relativeIndexEncode(data, b);
        expect(ri.fillers).toBe(fillers);
        expect(relativeIndexDecode(ri)).toEqual(data);
      }
    }
  });

  it('round-trips any matrix at any width 1..16', () => {
    fc.assert(
      fc.property(sparseMatrix, fc.integer({ min: 1, max: 16 }), (m, b) => {
        const ri = relativeIndexEncode(m.data, b);
        expect(relativeIndexDecode(ri)).toEqual(m.data);
        expect(ri.entries).toBe(ri.fillers + m.data.filter((v) => v !== 0).length);
        expect(
          relativeIndexSize(
            Array.from(m.data.keys()).filter((i) => m.data[i] !== 0),
            b,
          ),
        ).toEqual({ entries: ri.entries, fillers: ri.fillers });
        expect(ri.gaps.every((g) => g < 2 ** b)).toBe(true);
      }),
    );
  });

  it('indexes a CSR matrix in row-major order', () => {
    const m = randomSparse(64, 72, 0.1, 5);
    expect(csrToRelativeIndex(denseToCsr(m), 5)).toEqual(relativeIndexEncode(m.data, 5));
  });

  it('rejects widths outside 1..16 and indexes past the end', () => {
    expect(() => relativeIndexEncode(new Float32Array(4), 0)).toThrow(FormatError);
    expect(() => relativeIndexEncode(new Float32Array(4), 17)).toThrow(FormatError);
    expect(() =>
      relativeIndexDecode({ length: 4, gaps: Uint16Array.from([4]), values: Float32Array.from([1]) }),
    ).toThrow(/past the 4-element/);
  });
});
