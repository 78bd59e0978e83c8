import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { denseToCsr } from './compressed.js';
import { FormatError } from './errors.js';
import type { CsrMatrix, DenseMatrix } from './matrix.js';
import {
  decodeWeightPayload,
  decodeWeightPayloadCsr,
  decodeWeightPayloadDense,
  encodeWeightPayload,
  PayloadScratch,
  payloadToCsr,
  payloadToDense,
} from './payload.js';
import { randomSparse, sparseMatrix } from './test-arbitraries.js';

/** Replaces every non-zero by the nearest of k evenly spaced shared values (a stand-in for k-means). */
function shareWeights(m: DenseMatrix, k: number): { matrix: DenseMatrix; codebook: Float32Array } {
  const codebook = Float32Array.from({ length: k }, (_, i) => -1 + (2 * (i + 0.5)) / k);
  const data = m.data.map((v) => (v === 0 ? 0 : codebook[Math.min(k - 1, Math.floor(((v + 1) / 2) * k))]!));
  return { matrix: { ...m, data }, codebook };
}

describe('weight payload', () => {
  it('round-trips raw values with fixed-width and Huffman-coded indices', () => {
    fc.assert(
      fc.property(sparseMatrix, fc.integer({ min: 1, max: 16 }), fc.boolean(), (m, indexBits, huffman) => {
        const { bytes, breakdown } = encodeWeightPayload(m, { indexBits, huffman: { index: huffman } });
        const back = decodeWeightPayload(bytes);
        expect(payloadToDense(back).data).toEqual(m.data);
        expect(decodeWeightPayloadDense(bytes)).toEqual({ rows: m.rows, cols: m.cols, data: m.data });
        expect(payloadToCsr(back)).toEqual(denseToCsr(m));
        expect(decodeWeightPayloadCsr(bytes)).toEqual(denseToCsr(m));
        expect(breakdown.totalBytes).toBe(bytes.length);
        expect(breakdown.weightBits).toBe(breakdown.entries * 32);
      }),
      { numRuns: 150 },
    );
  });

  it('round-trips codebook indices, with and without Huffman, and keeps the codes', () => {
    fc.assert(
      fc.property(
        sparseMatrix,
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.boolean(),
        (m, bits, indexBits, huffman) => {
          const { matrix, codebook } = shareWeights(m, 2 ** bits);
          const { bytes } = encodeWeightPayload(matrix, { indexBits, codebook, huffman });
          const back = decodeWeightPayload(bytes);
          expect(payloadToDense(back).data).toEqual(matrix.data);
          const direct = decodeWeightPayloadDense(bytes);
          expect(direct.data).toEqual(matrix.data);
          expect(direct.codebook).toEqual(back.codebook);
          expect(decodeWeightPayloadCsr(bytes)).toEqual({ ...denseToCsr(matrix), codebook: back.codebook });
          expect(back.codes?.length).toBe(back.values.length);
          back.codes?.forEach((c, i) => {
            expect(back.codebook?.[c]).toBe(back.values[i]);
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reports the Deep Compression breakdown, and Huffman saves bits on skewed data', () => {
    const { matrix, codebook } = shareWeights(randomSparse(256, 800, 0.1, 9), 32);
    const fixed = encodeWeightPayload(matrix, { indexBits: 5, codebook });
    const huff = encodeWeightPayload(matrix, { indexBits: 5, codebook, huffman: true });
    const b = fixed.breakdown;
    expect(b.params).toBe(256 * 800);
    expect(b.indexBits).toBe(b.entries * 5);
    expect(b.fillers).toBeGreaterThan(0);
    // 32 shared values plus the zero appended for fillers: 33 symbols need 6-bit indices
    expect(b.weightBits).toBe(b.entries * 6);
    expect(b.codebookBytes).toBe(33 * 4);
    expect(huff.breakdown.huffmanSavingBits).toBeGreaterThan(0);
    expect(huff.bytes.length).toBeLessThan(fixed.bytes.length);
    expect(b.ratio).toBeCloseTo((256 * 800 * 4) / fixed.bytes.length);
  });

  it('rejects a weight missing from the codebook', () => {
    const m = { rows: 1, cols: 2, data: Float32Array.from([0.5, 0.25]) };
    expect(() => encodeWeightPayload(m, { indexBits: 4, codebook: Float32Array.from([0.5]) })).toThrow(
      /not in the codebook/,
    );
  });

  it('gives only FormatError on truncated, mutated and random payloads', () => {
    const { matrix, codebook } = shareWeights(randomSparse(20, 30, 0.2, 4), 16);
    const samples = [
      encodeWeightPayload(matrix, { indexBits: 3, codebook, huffman: true }).bytes,
      encodeWeightPayload(matrix, { indexBits: 4 }).bytes,
    ];
    fc.assert(
      fc.property(fc.constantFrom(...samples), fc.nat(), fc.nat(255), fc.nat(), (bytes, at, value, cut) => {
        const mutated = bytes.slice(0, bytes.length - (cut % 4 === 0 ? cut % bytes.length : 0));
        if (mutated.length > 0) mutated[at % mutated.length] = value;
        try {
          const p = decodeWeightPayload(mutated);
          expect(p.positions.length).toBeLessThanOrEqual(mutated.length * 8);
        } catch (e) {
          expect(e).toBeInstanceOf(FormatError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes mutated payloads straight to dense exactly as through positions, or refuses both ways', () => {
    const { matrix, codebook } = shareWeights(randomSparse(12, 40, 0.15, 5), 8);
    const samples = [
      encodeWeightPayload(matrix, { indexBits: 4, codebook, huffman: true }).bytes,
      encodeWeightPayload(matrix, { indexBits: 3, codebook }).bytes,
      encodeWeightPayload(matrix, { indexBits: 5, huffman: { index: true } }).bytes,
    ];
    const outcome = (decode: () => Float32Array) => {
      try {
        return Array.from(decode());
      } catch (e) {
        expect(e).toBeInstanceOf(FormatError);
        return 'refused';
      }
    };
    fc.assert(
      fc.property(fc.constantFrom(...samples), fc.nat(), fc.nat(255), (bytes, at, value) => {
        const mutated = bytes.slice();
        mutated[at % mutated.length] = value;
        // a mutated header may claim a huge matrix: both dense results allocate rows·cols floats
        const limit = { maxElements: 4096 };
        expect(outcome(() => decodeWeightPayloadDense(mutated, limit).data)).toEqual(
          outcome(() => payloadToDense(decodeWeightPayload(mutated, limit)).data),
        );
      }),
      { numRuns: 1000, seed: 11 },
    );
  });

  it('decodes mutated payloads straight to CSR exactly as through positions, or refuses both ways', () => {
    const { matrix, codebook } = shareWeights(randomSparse(12, 40, 0.15, 6), 8);
    const samples = [
      encodeWeightPayload(matrix, { indexBits: 4, codebook, huffman: true }).bytes,
      encodeWeightPayload(matrix, { indexBits: 3, codebook }).bytes,
      encodeWeightPayload(matrix, { indexBits: 5, huffman: { index: true } }).bytes,
    ];
    const outcome = (decode: () => CsrMatrix) => {
      try {
        const { rows, cols, rowPtr, colIdx, values } = decode();
        return { rows, cols, rowPtr, colIdx, values };
      } catch (e) {
        expect(e).toBeInstanceOf(FormatError);
        return 'refused';
      }
    };
    const scratch = new PayloadScratch();
    fc.assert(
      fc.property(fc.constantFrom(...samples), fc.nat(), fc.nat(255), (bytes, at, value) => {
        const mutated = bytes.slice();
        mutated[at % mutated.length] = value;
        const limit = { maxElements: 4096 };
        const want = outcome(() => payloadToCsr(decodeWeightPayload(mutated, limit)));
        expect(outcome(() => decodeWeightPayloadCsr(mutated, limit))).toEqual(want);
        expect(outcome(() => decodeWeightPayloadCsr(mutated, { ...limit, scratch }))).toEqual(want);
      }),
      { numRuns: 1000, seed: 12 },
    );
  });

  it('decodes the same with one scratch shared by many payloads, and returns nothing that aliases it', () => {
    const scratch = new PayloadScratch();
    const decoded: { bytes: Uint8Array; csr: CsrMatrix }[] = [];
    fc.assert(
      fc.property(
        sparseMatrix,
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom('raw', 'fixed', 'huffman'),
        (m, indexBits, bits, kind) => {
          const { matrix, codebook } = shareWeights(m, 2 ** bits);
          const { bytes } =
            kind === 'raw'
              ? encodeWeightPayload(m, { indexBits, huffman: { index: true } })
              : encodeWeightPayload(matrix, { indexBits, codebook, huffman: kind === 'huffman' });
          const csr = decodeWeightPayloadCsr(bytes, { scratch });
          expect(csr).toEqual(decodeWeightPayloadCsr(bytes));
          expect(payloadToCsr(decodeWeightPayload(bytes, { scratch }))).toEqual(
            payloadToCsr(decodeWeightPayload(bytes)),
          );
          decoded.push({ bytes, csr });
        },
      ),
      { numRuns: 150, seed: 14 },
    );
    for (const { bytes, csr } of decoded) expect(csr).toEqual(decodeWeightPayloadCsr(bytes));
  });

  it('refuses headers that claim more than the input holds', () => {
    const { bytes } = encodeWeightPayload(randomSparse(4, 4, 0.5, 1), { indexBits: 4 });
    const lie = bytes.slice();
    new DataView(lie.buffer).setUint32(16, 2 ** 31, true); // entries
    expect(() => decodeWeightPayload(lie)).toThrow(/truncated|ends after/);
    const huge = bytes.slice();
    new DataView(huge.buffer).setUint32(8, 2 ** 31, true); // rows
    expect(() => decodeWeightPayload(huge)).toThrow(/limit/);
    expect(() => decodeWeightPayloadDense(lie)).toThrow(/truncated|ends after/);
    expect(() => decodeWeightPayloadDense(huge)).toThrow(/limit/);
    expect(() => decodeWeightPayloadCsr(huge)).toThrow(/limit/);
    // no columns: no elements, but a row pointer per claimed row
    const empty = encodeWeightPayload(
      { rows: 3, cols: 0, data: new Float32Array(0) },
      { indexBits: 4 },
    ).bytes;
    expect(decodeWeightPayloadCsr(empty).rowPtr).toEqual(new Uint32Array(4));
    new DataView(empty.buffer).setUint32(8, 2 ** 31, true);
    expect(() => decodeWeightPayloadCsr(empty, { maxElements: 4096 })).toThrow(/limit/);
  });
});
