import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  binaryDot,
  bitplaneDot,
  packBitplanes,
  packedAt,
  packSigns,
  packTernary,
  popcount32,
  ternaryDot,
  unpackBitplanes,
  unpackSigns,
  unpackTernary,
} from './bitpack.js';
import { QuantError } from './errors.js';

const shape4 = fc.tuple(
  fc.integer({ min: 1, max: 3 }),
  fc.integer({ min: 1, max: 70 }),
  fc.integer({ min: 1, max: 3 }),
  fc.integer({ min: 1, max: 3 }),
);
const ints = (n: number, lo: number, hi: number, seed: number) => {
  let s = seed * 2654435761 + 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return lo + (s % (hi - lo + 1));
  });
};

describe('bit packing', () => {
  it('round-trips signs, ternary codes and bitplanes for C not a multiple of 32', () => {
    fc.assert(
      fc.property(shape4, fc.nat(), fc.integer({ min: 1, max: 8 }), (shape, seed, bits) => {
        const size = shape.reduce((a, b) => a * b, 1);
        const signs = ints(size, 0, 1, seed).map((b) => (b ? 1 : -1));
        expect(Array.from(unpackSigns(packSigns(signs, shape)))).toEqual(signs);
        const codes = ints(size, -1, 1, seed + 1);
        expect(Array.from(unpackTernary(packTernary(codes, shape)))).toEqual(codes.map((c) => c + 0));
        const q = ints(size, 0, 2 ** bits - 1, seed + 2);
        expect(Array.from(unpackBitplanes(packBitplanes(q, shape, bits)))).toEqual(q);
      }),
    );
  });

  it('lays channels out innermost with zero padding bits', () => {
    const p = packSigns([-1, 1, -1, /* c1 */ 1, 1, -1, /* c2 */ -1, -1, -1], [1, 3, 1, 3]);
    expect(p.words).toBe(1);
    expect(Array.from(p.data)).toEqual([0b101, 0b100, 0b111]);
  });

  it('binary, ternary and bit-serial dot products equal integer dot products', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.nat(),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (c, seed, kx, ky) => {
          const shape = [1, c, 1, 1] as const;
          const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
          const a = ints(c, 0, 1, seed).map((b) => (b ? 1 : -1));
          const b = ints(c, 0, 1, seed + 9).map((v) => (v ? 1 : -1));
          expect(binaryDot(packSigns(a, shape).data, packSigns(b, shape).data, c)).toBe(dot(a, b));
          const ta = ints(c, -1, 1, seed + 3);
          const tb = ints(c, -1, 1, seed + 4);
          const pa = packTernary(ta, shape);
          const pb = packTernary(tb, shape);
          expect(ternaryDot(pa.nonzero.data, pa.negative.data, pb.nonzero.data, pb.negative.data)).toBe(
            dot(ta, tb),
          );
          const x = ints(c, 0, 2 ** kx - 1, seed + 5);
          const y = ints(c, 0, 2 ** ky - 1, seed + 6);
          const px = packBitplanes(x, shape, kx).planes.map((p) => p.data);
          const py = packBitplanes(y, shape, ky).planes.map((p) => p.data);
          expect(bitplaneDot(px, py)).toBe(dot(x, y));
        },
      ),
    );
  });

  it('counts bits and addresses positions', () => {
    expect([0, 1, 0xffffffff, 0x80000001, 0x0f0f0f0f].map(popcount32)).toEqual([0, 1, 32, 2, 16]);
    const p = packSigns(
      Array.from({ length: 2 * 33 * 2 * 2 }, (_, i) => (i % 5 ? 1 : -1)),
      [2, 33, 2, 2],
    );
    expect(packedAt(p, 1, 1, 0)).toEqual(p.data.subarray((1 * 4 + 2) * 2, (1 * 4 + 2) * 2 + 2));
  });

  it('rejects values that do not fit the layout', () => {
    expect(() => packTernary([2], [1, 1, 1, 1])).toThrow(QuantError);
    expect(() => packBitplanes([4], [1, 1, 1, 1], 2)).toThrow(/2-bit/);
    expect(() => packSigns([1, 1], [1, 3, 1, 1])).toThrow(/shape/);
  });
});
