import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import type { ConvGeometry } from '../geometry.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import {
  type Activation,
  activationFn,
  bindings,
  f,
  u,
  windowLiterals,
  windowLoop,
  workgroupIndex,
} from '../wgsl.js';
import { encodePackRule } from './pack-bits.js';

/*
 * Bit tensors use @zeroskip/quant's packed layout: [N, H, W, ⌈C/32⌉] words per plane, channel c at bit
 * c mod 32 of word ⌊c/32⌋, padding bits 0; several planes are stored plane after plane.
 *  - binary: one plane, bit 1 = −1 (x < 0);
 *  - ternary: plane 0 non-zero (|x| > Δ), plane 1 negative (x < −Δ);
 *  - k-bit: k planes of q = floor(clamp(x, 0, 1)·(2^k − 1) + ½), plane m holding bit m (DoReFa activations).
 */
export type BitEncoding =
  | { readonly kind: 'binary' }
  | { readonly kind: 'ternary'; readonly delta: number }
  | { readonly kind: 'bitplanes'; readonly bits: number };

export function planeCount(e: BitEncoding): number {
  return e.kind === 'binary' ? 1 : e.kind === 'ternary' ? 2 : e.bits;
}

/** Packs f32 NCHW `x` of `shape` into the planes of `encoding` (out: planes × N·H·W·⌈C/32⌉ words). */
export function encodePackBits(
  r: Recorder,
  x: GpuTensor,
  out: GpuTensor,
  shape: readonly [number, number, number, number],
  encoding: BitEncoding,
): void {
  if (
    encoding.kind === 'bitplanes' &&
    !(Number.isInteger(encoding.bits) && encoding.bits >= 1 && encoding.bits <= 8)
  ) {
    throw new GpuError('invalid-argument', `bit-serial activations take 1..8 bits, got ${encoding.bits}.`);
  }
  encodePackRule(
    r,
    x,
    out,
    shape,
    encoding.kind === 'binary'
      ? { kind: 'sign' }
      : encoding.kind === 'ternary'
        ? encoding
        : { kind: 'bits', bits: encoding.bits },
  );
}

/** Which popcount product a bitwise conv computes; weights use the matching planes. */
export type BitwiseKind =
  | { readonly kind: 'xnor' }
  | { readonly kind: 'ternary' }
  | { readonly kind: 'dorefa'; readonly activationBits: number; readonly weightBits: number };

function checkBitwise(geo: ConvGeometry): void {
  if (geo.groups !== 1)
    throw new GpuError(
      'invalid-argument',
      `bit-packed convolutions support groups = 1 only, got ${geo.groups}; run grouped layers in f32.`,
    );
}

/**
 * `fn accum(n, o, oy, ox) -> vec2i`: the integer product of the packed input and weights over the
 * in-bounds taps (x) and, for DoReFa, Σ of the input codes (y). Taps in the zero padding are skipped,
 * which is exact: a zero input is neither +1 nor −1, so it must contribute nothing.
 */
function accumFn(geo: ConvGeometry, kind: BitwiseKind): string {
  const words = Math.ceil(geo.c / 32);
  const xPlane = geo.n * geo.h * geo.w * words;
  const wPlane = geo.o * geo.kh * geo.kw * words;
  const inner =
    kind.kind === 'xnor'
      ? 'acc.x -= 2 * i32(countOneBits(xb[xi] ^ wb[wi]));'
      : kind.kind === 'ternary'
        ? `let m = xb[xi] & wb[wi];
          let d = xb[${u(xPlane)} + xi] ^ wb[${u(wPlane)} + wi];
          acc.x += i32(countOneBits(m & ~d)) - i32(countOneBits(m & d));`
        : `for (var a = 0u; a < ${u(kind.activationBits)}; a++) {
            let xa = xb[a * ${u(xPlane)} + xi];
            acc.y += i32(countOneBits(xa) << a);
            for (var b = 0u; b < ${u(kind.weightBits)}; b++) { acc.x += i32(countOneBits(xa & wb[b * ${u(wPlane)} + wi]) << (a + b)); }
          }`;
  // ±1 products: each in-bounds tap contributes C − 2·popcount(x ⊕ w) over its words
  const perTap = kind.kind === 'xnor' ? `acc.x += ${geo.c};` : '';
  const wordLoop = `${perTap} for (var wd = 0u; wd < ${u(words)}; wd++) { let xi = xo + wd; let wi = wo + wd; ${inner} }`;
  return /* wgsl */ `
fn accum(n: u32, o: u32, oy: u32, ox: u32) -> vec2i {
  var acc = vec2i(0, 0);
  ${windowLoop(
    windowLiterals(geo),
    'oy',
    'ox',
    `let xo = ((n * ${u(geo.h)} + iy) * ${u(geo.w)} + ix) * ${u(words)};
      let wo = ((o * ${u(geo.kh)} + ky) * ${u(geo.kw)} + kx) * ${u(words)};
      ${wordLoop}`,
  )}
  return acc;
}`;
}

/** The f32 value of an accumulator before scale and bias: DoReFa's affine decode, else the integer itself. */
function decode(kind: BitwiseKind): string {
  if (kind.kind !== 'dorefa') return 'f32(a.x)';
  const la = 2 ** kind.activationBits - 1;
  const lw = 2 ** kind.weightBits - 1;
  // x = xc / la, w = 2·qc / lw − 1  ⇒  Σ x·w = (2/lw·Σ xc·qc − Σ xc) / la
  return `(${f(2 / lw)} * f32(a.x) - f32(a.y)) * ${f(1 / la)}`;
}

export interface BitwiseConvBuffers {
  /** Packed input planes (from {@link encodePackBits}). */
  readonly x: GpuTensor;
  /** Packed weight planes [planes][O, kh, kw, ⌈C/32⌉]. */
  readonly w: GpuTensor;
  /** Per output channel: XNOR's α, ternary α, or 1. */
  readonly scale: GpuTensor;
  readonly bias: GpuTensor;
  readonly y: GpuTensor;
  /** XNOR-Net's input scale map K [N, Ho, Wo] (xnor only). */
  readonly k?: GpuTensor;
}

/** Bitwise conv (or FC as a 1×1 conv on 1×1 inputs) with f32 NCHW output: act(scale·decode(acc)·K + bias). */
export function encodeBitwiseConv(
  r: Recorder,
  b: BitwiseConvBuffers,
  geo: ConvGeometry,
  kind: BitwiseKind,
  activation: Activation,
): void {
  checkBitwise(geo);
  r.dispatch(
    `conv-${kind.kind}`,
    r.gpu.pipeline(CONV_BITWISE, { geo, kind, withK: b.k !== undefined, activation }),
    [b.x, b.w, b.scale, b.bias, b.y, ...(b.k ? [b.k] : [])],
    grid(bitwiseGroups(geo), r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

/** Workgroups of the bitwise conv: 64 pixels of one output channel of one image each. */
function bitwiseGroups(geo: ConvGeometry): number {
  return Math.ceil((geo.ho * geo.wo) / 64) * geo.o * geo.n;
}

const CONV_BITWISE: Program<{
  readonly geo: ConvGeometry;
  readonly kind: BitwiseKind;
  readonly withK: boolean;
  readonly activation: Activation;
}> = {
  name: 'conv-bitwise',
  wgsl: ({ geo, kind, withK, activation }) => {
    const hwo = geo.ho * geo.wo;
    const tiles = Math.ceil(hwo / 64);
    const total = bitwiseGroups(geo);
    const [nx] = grid(total, 65535);
    return /* wgsl */ `
${bindings([
  ['xb', 'array<u32>', 'read'],
  ['wb', 'array<u32>', 'read'],
  ['scale', 'array<f32>', 'read'],
  ['bias', 'array<f32>', 'read'],
  ['y', 'array<f32>', 'read_write'],
  ...(withK ? ([['kmap', 'array<f32>', 'read']] as const) : []),
])}
${activationFn(activation)}
${accumFn(geo, kind)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  if (wg >= ${u(total)}) { return; }
  let s = (wg % ${u(tiles)}) * 64u + li;
  let o = (wg / ${u(tiles)}) % ${u(geo.o)};
  let n = wg / ${u(tiles * geo.o)};
  if (s >= ${u(hwo)}) { return; }
  let a = accum(n, o, s / ${u(geo.wo)}, s % ${u(geo.wo)});
  y[(n * ${u(geo.o)} + o) * ${u(hwo)} + s] = act(scale[o] * ${decode(kind)}${withK ? ` * kmap[n * ${u(hwo)} + s]` : ''} + bias[o]);
}`;
  },
};

/**
 * Batch norm + sign after a bitwise conv as a compare of the integer accumulator with a per-channel
 * threshold (see `signThresholds`), writing the next layer's packed input [N, Ho, Wo, ⌈O/32⌉] directly.
 */
export function encodeBitwiseConvSign(
  r: Recorder,
  b: { x: GpuTensor; w: GpuTensor; threshold: GpuTensor; mode: GpuTensor; y: GpuTensor },
  geo: ConvGeometry,
  kind: BitwiseKind,
): void {
  checkBitwise(geo);
  r.dispatch(
    `conv-${kind.kind}-bn-sign`,
    r.gpu.pipeline(CONV_BITWISE_SIGN, { geo, kind }),
    [b.x, b.w, b.threshold, b.mode, b.y],
    grid(Math.ceil(signWords(geo) / 64), r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

/** Output words of the BN + sign conv: ⌈O/32⌉ per pixel of each image. */
function signWords(geo: ConvGeometry): number {
  return geo.n * geo.ho * geo.wo * Math.ceil(geo.o / 32);
}

const CONV_BITWISE_SIGN: Program<{ readonly geo: ConvGeometry; readonly kind: BitwiseKind }> = {
  name: 'conv-bitwise-sign',
  wgsl: ({ geo, kind }) => {
    const ow = Math.ceil(geo.o / 32);
    const total = signWords(geo);
    const [nx] = grid(Math.ceil(total / 64), 65535);
    return /* wgsl */ `
${bindings([
  ['xb', 'array<u32>', 'read'],
  ['wb', 'array<u32>', 'read'],
  ['threshold', 'array<f32>', 'read'],
  ['mode', 'array<u32>', 'read'],
  ['y', 'array<u32>', 'read_write'],
])}
${accumFn(geo, kind)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  let e = wg * 64u + li;
  if (e >= ${u(total)}) { return; }
  let word = e % ${u(ow)};
  let s = (e / ${u(ow)}) % ${u(geo.ho * geo.wo)};
  let n = e / ${u(ow * geo.ho * geo.wo)};
  var bits = 0u;
  for (var j = 0u; j < 32u; j++) {
    let o = word * 32u + j;
    if (o >= ${u(geo.o)}) { break; }
    let v = f32(accum(n, o, s / ${u(geo.wo)}, s % ${u(geo.wo)}).x);
    let m = mode[o];
    let negative = (m == 0u && v < threshold[o]) || (m == 1u && v > threshold[o]) || m == 2u;
    if (negative) { bits |= 1u << j; }
  }
  y[e] = bits;
}`;
  },
};

/**
 * Per-channel thresholds for sign(s·acc + t), the batch norm folded after a bitwise conv: with
 * s = α·γ/σ and t = (bias − μ)·γ/σ + β the output is −1 exactly when acc < −t/s (s > 0), acc > −t/s
 * (s < 0), or always / never when s = 0 and t < 0 / t ≥ 0. Modes: 0 less, 1 greater, 2 always, 3 never.
 */
export function signThresholds(
  s: ArrayLike<number>,
  t: ArrayLike<number>,
): { threshold: Float32Array; mode: Uint32Array } {
  const threshold = new Float32Array(s.length);
  const mode = new Uint32Array(s.length);
  for (let o = 0; o < s.length; o++) {
    const so = s[o]!;
    const to = t[o]!;
    if (!Number.isFinite(so) || !Number.isFinite(to))
      throw new GpuError('invalid-argument', `batch-norm scale or shift of channel ${o} is not finite.`);
    if (so === 0) mode[o] = to < 0 ? 2 : 3;
    else {
      threshold[o] = -to / so;
      mode[o] = so > 0 ? 0 : 1;
    }
  }
  return { threshold, mode };
}
