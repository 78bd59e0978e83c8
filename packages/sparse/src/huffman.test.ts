import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BitReader, BitWriter } from './bitstream.js';
import { FormatError } from './errors.js';
import {
  canonicalCodes,
  HuffmanDecoder,
  huffmanBits,
  huffmanCodeLengths,
  huffmanEncode,
  readCodeLengths,
  writeCodeLengths,
} from './huffman.js';

/** Unlimited Huffman cost by repeatedly merging the two lightest weights (the textbook algorithm). */
function huffmanCost(freqs: number[]): number {
  const w = freqs.filter((f) => f > 0).sort((a, b) => a - b);
  if (w.length === 1) return w[0]!;
  let cost = 0;
  while (w.length > 1) {
    const s = w.shift()! + w.shift()!;
    cost += s;
    const at = w.findIndex((x) => x > s);
    w.splice(at < 0 ? w.length : at, 0, s);
  }
  return cost;
}

/** Cheapest length-limited cost by exhaustive search over non-increasing length vectors (small n only). */
function bruteForceLimited(freqs: number[], maxLen: number): number {
  const f = freqs.filter((x) => x > 0).sort((a, b) => b - a);
  let best = Number.POSITIVE_INFINITY;
  const rec = (i: number, minLen: number, kraft: number, cost: number) => {
    if (kraft > 1 + 1e-12 || cost >= best) return;
    if (i === f.length) {
      best = cost;
      return;
    }
    for (let l = minLen; l <= maxLen; l++) rec(i + 1, l, kraft + 2 ** -l, cost + f[i]! * l);
  };
  rec(0, 1, 0, 0);
  return best;
}

function kraft(lengths: Uint8Array): number {
  let k = 0;
  for (const l of lengths) if (l > 0) k += 2 ** -l;
  return k;
}

describe('code lengths', () => {
  it('matches the textbook example (CLRS 16.3: a:45 b:13 c:12 d:16 e:9 f:5)', () => {
    expect(Array.from(huffmanCodeLengths([45, 13, 12, 16, 9, 5]))).toEqual([1, 3, 3, 3, 4, 4]);
  });

  it('binds the limit optimally on Fibonacci frequencies', () => {
    const fib = [1, 1, 2, 3, 5, 8, 13, 21];
    expect(Math.max(...huffmanCodeLengths(fib, 24))).toBe(7);
    const limited = huffmanCodeLengths(fib, 4);
    expect(Math.max(...limited)).toBe(4);
    expect(huffmanBits(fib, limited)).toBe(bruteForceLimited(fib, 4));
    expect(huffmanBits(fib, limited)).toBeGreaterThan(huffmanCost(fib));
  });

  it('is optimal: equals Huffman when unconstrained and exhaustive search when limited', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 9 }),
        fc.integer({ min: 3, max: 6 }),
        (f, maxLen) => {
          const used = f.filter((x) => x > 0).length;
          fc.pre(used <= 2 ** maxLen);
          const lengths = huffmanCodeLengths(f, maxLen);
          expect(Math.max(0, ...lengths)).toBeLessThanOrEqual(maxLen);
          expect(huffmanBits(f, lengths)).toBe(bruteForceLimited(f, maxLen));
          if (used >= 2) expect(kraft(lengths)).toBe(1);
          expect(huffmanBits(f, huffmanCodeLengths(f, 24))).toBe(used === 0 ? 0 : huffmanCost(f));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('handles no symbols, one symbol, and 65 536 symbols', () => {
    expect(Array.from(huffmanCodeLengths([0, 0]))).toEqual([0, 0]);
    expect(Array.from(huffmanCodeLengths([0, 7, 0]))).toEqual([0, 1, 0]);
    const many = Array.from({ length: 65536 }, (_, i) => 1 + (i % 7));
    const lengths = huffmanCodeLengths(many, 16);
    expect(kraft(lengths)).toBe(1);
    expect(Math.max(...lengths)).toBe(16);
    expect(() => huffmanCodeLengths(many, 15)).toThrow(FormatError);
  });

  it('assigns canonical codes in (length, symbol) order', () => {
    // lengths a:2 b:1 c:3 d:3 → b=0, a=10, c=110, d=111
    expect(Array.from(canonicalCodes(Uint8Array.from([2, 1, 3, 3])))).toEqual([0b10, 0b0, 0b110, 0b111]);
  });
});

function roundTrip(symbols: Uint16Array, alphabet: number, maxLen: number) {
  const freq = new Float64Array(alphabet);
  for (const s of symbols) freq[s]!++;
  const lengths = huffmanCodeLengths(freq, maxLen);
  const w = new BitWriter();
  w.write(5, 3); // an unaligned start
  writeCodeLengths(w, lengths);
  huffmanEncode(symbols, lengths, w);
  const bytes = w.finish();
  const r = new BitReader(bytes);
  expect(r.read(3)).toBe(5);
  const table = readCodeLengths(r);
  expect(table).toEqual(lengths);
  const decoded = new HuffmanDecoder(table).decode(r, symbols.length);
  expect(Array.from(decoded)).toEqual(Array.from(symbols));
  expect(r.remaining).toBeLessThan(8);
  return bytes;
}

describe('encode and decode', () => {
  it('round-trips random streams, including codes longer than the 12-bit table', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4096 }),
        fc.array(fc.nat(), { minLength: 0, maxLength: 400 }),
        fc.integer({ min: 12, max: 24 }),
        (alphabet, raw, maxLen) => {
          // a skewed distribution so that rare symbols get long codes
          const symbols = Uint16Array.from(raw, (x) =>
            x % 7 === 0 ? x % alphabet : x % Math.min(alphabet, 3),
          );
          roundTrip(symbols, alphabet, maxLen);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('round-trips a geometric distribution over 65 536 symbols with 24-bit codes', () => {
    const symbols = new Uint16Array(100000);
    let s = 12345;
    for (let i = 0; i < symbols.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      symbols[i] = Math.min(65535, Math.floor(-Math.log(1 - s / 2 ** 32) * 3) * 97) % 65536;
    }
    symbols[0] = 65535;
    roundTrip(symbols, 65536, 24);
  });

  it('round-trips one symbol repeated and an empty stream', () => {
    roundTrip(new Uint16Array(50).fill(3), 4, 16);
    roundTrip(new Uint16Array(0), 4, 16);
  });
});

/** Bit-serial canonical decoding, one bit per step: the straightforward decoder the table-driven one must match. */
function referenceDecode(r: BitReader, lengths: Uint8Array, count: number): number[] {
  const codes = canonicalCodes(lengths);
  const byCode = new Map<string, number>();
  lengths.forEach((l, s) => {
    if (l > 0) byCode.set(`${l}:${codes[s]}`, s);
  });
  const out: number[] = [];
  while (out.length < count) {
    let code = 0;
    for (let l = 1; ; l++) {
      code = code * 2 + r.read(1);
      const s = byCode.get(`${l}:${code}`);
      if (s !== undefined) {
        out.push(s);
        break;
      }
    }
  }
  return out;
}

describe('table-driven decoding against bit-serial decoding', () => {
  // Alphabets of up to 256 symbols take the multi-symbol table; larger ones the single-symbol one.
  const distribution = fc.oneof(
    // uniform over a random alphabet
    fc.record({ alphabet: fc.integer({ min: 1, max: 300 }), skew: fc.constant(0), used: fc.constant([]) }),
    // geometric: rare symbols get codes up to the length limit
    fc.record({
      alphabet: fc.integer({ min: 2, max: 300 }),
      skew: fc.double({ min: 0.3, max: 0.95 }),
      used: fc.constant([]),
    }),
    // a few symbols anywhere in a 256-symbol alphabet: short codes for large symbol values
    fc.record({
      alphabet: fc.constant(256),
      skew: fc.constant(0),
      used: fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }),
    }),
  );
  it('agrees on random distributions, code limits, offsets and counts', () => {
    fc.assert(
      fc.property(
        distribution,
        fc.integer({ min: 0, max: 1200 }),
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 9, max: 24 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        ({ alphabet, skew, used }, count, offset, maxLen, seed) => {
          let state = seed;
          const next = () => {
            state = (Math.imul(state, 1103515245) + 12345) >>> 0;
            return state / 2 ** 32;
          };
          const symbols = Uint16Array.from({ length: count }, () =>
            used.length > 0
              ? used[Math.floor(next() * used.length)]!
              : skew === 0
                ? Math.floor(next() * alphabet)
                : Math.min(alphabet - 1, Math.floor(Math.log(1 - next()) / Math.log(skew))),
          );
          const freq = new Float64Array(alphabet);
          for (const x of symbols) freq[x]!++;
          // Fibonacci-like weights on a few symbols force codes to the length limit
          if (skew !== 0)
            for (let k = 0, f = 1, g = 1; k < Math.min(alphabet, 30); k++, [f, g] = [g, f + g]) freq[k]! += f;
          const lengths = huffmanCodeLengths(freq, maxLen);
          const w = new BitWriter();
          if (offset > 0) w.write(0, offset);
          huffmanEncode(symbols, lengths, w);
          const bytes = w.finish();
          const fast = new BitReader(bytes, offset);
          const slow = new BitReader(bytes, offset);
          const got = new HuffmanDecoder(lengths).decode(fast, count);
          expect(Array.from(got)).toEqual(referenceDecode(slow, lengths, count));
          expect(fast.position).toBe(slow.position);
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });

  it('agrees on a single-symbol code and on codes of exactly 24 bits', () => {
    for (const count of [0, 1, 2, 3, 4, 1000]) {
      const lengths = huffmanCodeLengths([0, 0, 5], 16);
      const w = huffmanEncode(new Uint16Array(count).fill(2), lengths);
      const r = new BitReader(w.finish());
      expect(Array.from(new HuffmanDecoder(lengths).decode(r, count))).toEqual(new Array(count).fill(2));
      expect(r.position).toBe(count);
    }
    // Fibonacci frequencies over 26 symbols reach the 24-bit limit
    const fib = [1, 1];
    while (fib.length < 26) fib.push(fib.at(-1)! + fib.at(-2)!);
    const lengths = huffmanCodeLengths(fib, 24);
    expect(Math.max(...lengths)).toBe(24);
    const symbols = Uint16Array.from({ length: 500 }, (_, i) => (i * 7919) % 26);
    const bytes = huffmanEncode(symbols, lengths).finish();
    expect(Array.from(new HuffmanDecoder(lengths).decode(new BitReader(bytes), symbols.length))).toEqual(
      referenceDecode(new BitReader(bytes), lengths, symbols.length),
    );
  });
});

describe('hostile input', () => {
  it('rejects over-subscribed tables', () => {
    const w = new BitWriter();
    writeCodeLengths(w, Uint8Array.from([1, 1]));
    const bytes = w.finish();
    // flip the second length from 1 to 2 → still fine; make three 1-bit codes instead
    const bad = new BitWriter();
    bad.write(3, 17);
    for (let i = 0; i < 3; i++) bad.write(1, 5);
    expect(() => readCodeLengths(new BitReader(bad.finish()))).toThrow(/over-subscribed/);
    expect(readCodeLengths(new BitReader(bytes))).toEqual(Uint8Array.from([1, 1]));
  });

  it('refuses a symbol count the input could not hold, before allocating', () => {
    const d = new HuffmanDecoder(Uint8Array.from([1, 1]));
    expect(() => d.decode(new BitReader(new Uint8Array(4)), 2 ** 31)).toThrow(/truncated|need at least/);
  });

  it('detects a stream that ends mid-code', () => {
    const lengths = huffmanCodeLengths([1, 1, 1, 1, 1, 1, 1, 1], 16); // 3 bits each
    const w = huffmanEncode([1, 2, 3, 4, 5, 6, 7], lengths);
    const bytes = w.finish(); // 21 bits in 3 bytes
    const r = new BitReader(bytes, 0, 20);
    expect(() => new HuffmanDecoder(lengths).decode(r, 7)).toThrow(FormatError);
  });

  it('never throws anything but FormatError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.nat(1000), (bytes, count) => {
        try {
          const r = new BitReader(bytes);
          new HuffmanDecoder(readCodeLengths(r)).decode(r, count);
        } catch (e) {
          expect(e).toBeInstanceOf(FormatError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
