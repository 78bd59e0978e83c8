import { checkInt, checkShape, QuantError } from './errors.js';

/*
 * One packed layout for every bit tensor (README: "Bit packing"). A tensor of shape [N, C, H, W]
 * (activations NCHW, or weights OIHW with N = O, C = I) becomes words [N, H, W, ⌈C/32⌉]: the bits of
 * all C channels at one spatial position are contiguous, bit j of word w holding channel 32·w + j.
 * Padding bits (channels C..32·⌈C/32⌉−1) are 0 in every plane.
 */

export type Shape4 = readonly [n: number, c: number, h: number, w: number];

export interface PackedBits {
  readonly data: Uint32Array;
  readonly shape: Shape4;
  /** Words per position: ⌈C / 32⌉. */
  readonly words: number;
}

export function channelWords(channels: number): number {
  return Math.ceil(channels / 32);
}

function packWith(values: ArrayLike<number>, shape: Shape4, bit: (v: number) => boolean): PackedBits {
  checkShape('tensor', values, shape);
  const [n, c, h, w] = shape;
  const words = channelWords(c);
  const data = new Uint32Array(n * h * w * words);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * w; p++) {
        if (bit(values[(b * c + ch) * h * w + p]!))
          data[(b * h * w + p) * words + (ch >>> 5)]! |= 1 << (ch & 31);
      }
    }
  }
  return { data, shape, words };
}

function unpackWith(p: PackedBits, value: (bit: number, index: number) => number): Float32Array {
  const [n, c, h, w] = p.shape;
  const out = new Float32Array(n * c * h * w);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let q = 0; q < h * w; q++) {
        const i = (b * c + ch) * h * w + q;
        out[i] = value((p.data[(b * h * w + q) * p.words + (ch >>> 5)]! >>> (ch & 31)) & 1, i);
      }
    }
  }
  return out;
}

/** Sign bits: 1 for −1 (x < 0), 0 for +1 (x ≥ 0). */
export function packSigns(x: ArrayLike<number>, shape: Shape4): PackedBits {
  return packWith(x, shape, (v) => v < 0);
}

export function unpackSigns(p: PackedBits): Float32Array {
  return unpackWith(p, (bit) => (bit ? -1 : 1));
}

export interface PackedTernary {
  readonly nonzero: PackedBits;
  readonly negative: PackedBits;
}

/** Two bitplanes of ternary codes: non-zero mask and sign (1 = negative). */
export function packTernary(codes: ArrayLike<number>, shape: Shape4): PackedTernary {
  for (let i = 0; i < codes.length; i++) {
    if (codes[i] !== -1 && codes[i] !== 0 && codes[i] !== 1)
      throw new QuantError('invalid-argument', `ternary code ${codes[i]} at ${i} is not −1, 0 or 1.`);
  }
  return { nonzero: packWith(codes, shape, (v) => v !== 0), negative: packWith(codes, shape, (v) => v < 0) };
}

export function unpackTernary(t: PackedTernary): Float32Array {
  const negative = unpackSigns(t.negative);
  return unpackWith(t.nonzero, (bit, i) => bit * negative[i]!);
}

export interface PackedBitplanes {
  /** plane m holds bit m of every value, each plane a {@link PackedBits} layout. */
  readonly planes: readonly PackedBits[];
  readonly bits: number;
}

/** k bitplanes of unsigned k-bit integers (DoReFa codes: quantize_k(x)·(2^k − 1)). */
export function packBitplanes(q: ArrayLike<number>, shape: Shape4, bits: number): PackedBitplanes {
  checkInt('bits', bits, 1, 16);
  for (let i = 0; i < q.length; i++) {
    const v = q[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits)
      throw new QuantError('invalid-argument', `value ${v} at ${i} is not a ${bits}-bit unsigned integer.`);
  }
  return {
    planes: Array.from({ length: bits }, (_, m) => packWith(q, shape, (v) => ((v >>> m) & 1) === 1)),
    bits,
  };
}

export function unpackBitplanes(p: PackedBitplanes): Float32Array {
  const out = new Float32Array(p.planes[0]?.shape.reduce((a, b) => a * b, 1) ?? 0);
  p.planes.forEach((plane, m) => {
    unpackWith(plane, (bit) => bit).forEach((bit, i) => {
      out[i]! += bit * 2 ** m;
    });
  });
  return out;
}

export function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

function checkWords(a: Uint32Array, b: Uint32Array): void {
  if (a.length !== b.length)
    throw new QuantError(
      'shape-mismatch',
      `word vectors of ${a.length} and ${b.length} words cannot be multiplied.`,
    );
}

/**
 * ±1 dot product of two packed sign vectors of `channels` channels: channels − 2·popcount(a ⊕ b).
 * Padding bits are 0 in both, so they never count and no correction is needed beyond using the true C.
 */
export function binaryDot(a: Uint32Array, b: Uint32Array, channels: number): number {
  checkWords(a, b);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff += popcount32(a[i]! ^ b[i]!);
  return channels - 2 * diff;
}

/** Ternary dot product: popcount(m & ¬(s_a ⊕ s_b)) − popcount(m & (s_a ⊕ s_b)), m = both non-zero. */
export function ternaryDot(
  aNonzero: Uint32Array,
  aNegative: Uint32Array,
  bNonzero: Uint32Array,
  bNegative: Uint32Array,
): number {
  checkWords(aNonzero, bNonzero);
  let dot = 0;
  for (let i = 0; i < aNonzero.length; i++) {
    const m = aNonzero[i]! & bNonzero[i]!;
    const d = aNegative[i]! ^ bNegative[i]!;
    dot += popcount32(m & ~d) - popcount32(m & d);
  }
  return dot;
}

/** DoReFa's bit-serial product of unsigned integer vectors: Σ_m Σ_k 2^(m+k)·popcount(c_m(x) & c_k(y)). */
export function bitplaneDot(x: readonly Uint32Array[], y: readonly Uint32Array[]): number {
  let dot = 0;
  x.forEach((xm, m) => {
    y.forEach((yk, k) => {
      checkWords(xm, yk);
      let c = 0;
      for (let i = 0; i < xm.length; i++) c += popcount32(xm[i]! & yk[i]!);
      dot += 2 ** (m + k) * c;
    });
  });
  return dot;
}

/** The words of one spatial position (b, y, x) of a packed tensor. */
export function packedAt(p: PackedBits, b: number, y: number, x: number): Uint32Array {
  const [, , h, w] = p.shape;
  const at = ((b * h + y) * w + x) * p.words;
  return p.data.subarray(at, at + p.words);
}
