import { type CsrMatrix, validateCsr } from '@zeroskip/sparse';
import { GpuError } from './errors.js';
import type { ConvGeometry } from './geometry.js';

/** Throws unless `csr` is a conv's weight matrix for `geo`: O × I/groups·kh·kw. */
export function checkConvCsr(csr: CsrMatrix, geo: Pick<ConvGeometry, 'o' | 'k'>): void {
  if (csr.rows !== geo.o || csr.cols !== geo.k)
    throw new GpuError(
      'invalid-argument',
      `sparse conv weights must be ${geo.o} × ${geo.k} (O × I/groups·kh·kw), got ${csr.rows} × ${csr.cols}.`,
    );
}

/**
 * Escort's "stretched" column indices: CSR column k = (ci, ky, kx) of output channel o's group becomes
 * the offset of its tap in a zero-padded input image, (g·cg + ci)·Hp·Wp + ky·dh·Wp + kx·dw, so that the
 * kernel adds one base address per output pixel and needs no bounds checks.
 */
export function stretchOffsets(csr: CsrMatrix, geo: ConvGeometry): Uint32Array {
  validateCsr(csr);
  checkConvCsr(csr, geo);
  const hp = geo.h + geo.pt + geo.pb;
  const wp = geo.w + geo.pl + geo.pr;
  // the offset within the group of each of the k columns, so that each non-zero is one look-up
  const taps = geo.kh * geo.kw;
  const column = new Uint32Array(geo.k);
  for (let k = 0; k < geo.k; k++) {
    const ci = Math.floor(k / taps);
    const ky = Math.floor((k % taps) / geo.kw);
    column[k] = ci * hp * wp + ky * geo.dh * wp + (k % geo.kw) * geo.dw;
  }
  const offsets = new Uint32Array(csr.colIdx.length);
  for (let o = 0; o < geo.o; o++) {
    const base = Math.floor(o / geo.og) * geo.cg * hp * wp;
    for (let j = csr.rowPtr[o]!; j < csr.rowPtr[o + 1]!; j++) offsets[j] = base + column[csr.colIdx[j]!]!;
  }
  return offsets;
}

/** Widths codebook indices are packed at: each divides 32, so a word holds a whole number of them. */
export const CODE_WIDTHS = [1, 2, 4, 8] as const;

/** The packing width for a codebook of `k` values: the smallest of 1, 2, 4, 8 bits that holds k − 1. */
export function codeWidth(k: number): (typeof CODE_WIDTHS)[number] {
  const w = CODE_WIDTHS.find((b) => 2 ** b >= k);
  if (!w)
    throw new GpuError(
      'invalid-argument',
      `a codebook of ${k} values needs more than 8-bit indices; at most 256 shared values are supported.`,
    );
  return w;
}

/** Packs codebook indices little-end first: index j sits in word ⌊j / (32/bits)⌋ at bit (j mod 32/bits)·bits. */
export function packCodes(codes: ArrayLike<number>, bits: number): Uint32Array {
  const per = 32 / bits;
  const out = new Uint32Array(Math.max(1, Math.ceil(codes.length / per)));
  for (let j = 0; j < codes.length; j++) {
    const c = codes[j]!;
    if (!Number.isInteger(c) || c < 0 || c >= 2 ** bits)
      throw new GpuError('invalid-argument', `codebook index ${c} at ${j} does not fit in ${bits} bits.`);
    out[Math.floor(j / per)]! |= c << ((j % per) * bits);
  }
  return out;
}
