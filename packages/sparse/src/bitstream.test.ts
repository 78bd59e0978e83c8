import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BitReader, BitWriter } from './bitstream.js';
import { FormatError } from './errors.js';

describe('bit streams', () => {
  it('writes least significant bit first (documented byte order)', () => {
    const w = new BitWriter();
    w.write(0b101, 3);
    w.write(0b11, 2);
    w.write(0xabc, 12);
    // 0b101 + (0b11 << 3) + (0xabc << 5) = 0x1579d in 17 bits
    expect(Array.from(w.finish())).toEqual([0x9d, 0x57, 0x01]);
  });

  it('reads runs of equal-width fields as field-by-field reads do', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        fc.integer({ min: 1, max: 16 }),
        fc.nat(),
        (bytes, bits, at) => {
          const offset = bytes.length === 0 ? 0 : at % (bytes.length * 8);
          const count = Math.floor((bytes.length * 8 - offset) / bits);
          const one = new BitReader(bytes, offset);
          const want = Array.from({ length: count }, () => one.read(bits));
          const many = new BitReader(bytes, offset);
          expect(Array.from(many.readFields(bits, new Uint16Array(count)))).toEqual(want);
          expect(many.position).toBe(one.position);
          expect(() => many.readFields(bits, new Uint16Array(1))).toThrow(FormatError);
        },
      ),
    );
  });

  it('round-trips random fields of 1..32 bits', () => {
    const field = fc
      .integer({ min: 1, max: 32 })
      .chain((bits) => fc.tuple(fc.constant(bits), fc.integer({ min: 0, max: 2 ** bits - 1 })));
    fc.assert(
      fc.property(fc.array(field, { maxLength: 100 }), (fields) => {
        const w = new BitWriter();
        for (const [bits, v] of fields) w.write(v, bits);
        const r = new BitReader(w.finish());
        for (const [bits, v] of fields) expect(r.read(bits)).toBe(v);
        expect(r.remaining).toBeLessThan(8);
      }),
    );
  });

  it('rejects values that do not fit and reads past the end', () => {
    expect(() => new BitWriter().write(8, 3)).toThrow(FormatError);
    expect(() => new BitWriter().write(1, 33)).toThrow(FormatError);
    const r = new BitReader(Uint8Array.from([0xff]));
    r.read(5);
    expect(() => r.read(4)).toThrow(/truncated/);
  });

  it('mixes whole bytes and fields', () => {
    const w = new BitWriter();
    w.write(1, 1);
    w.writeBytes(Uint8Array.from([9, 8]));
    w.write(3, 2);
    const r = new BitReader(w.finish());
    expect(r.read(1)).toBe(1);
    expect(Array.from(r.readBytes(2))).toEqual([9, 8]);
    expect(r.read(2)).toBe(3);
  });
});
