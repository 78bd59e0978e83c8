import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import { bitsCode, MAX_QUANT_BITS, quantLevels } from '../quant-conv-reference.js';
import type { Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { bindings, f, u } from '../wgsl.js';
import { dispatchElementwise, elementwiseWgsl } from './elementwise.js';

/*
 * Packed tensors use @zeroskip/quant's layout: planes × [N, H, W, ⌈C/32⌉] u32 words, channel c at bit
 * c mod 32 of word ⌊c/32⌋, padding bits 0 in every plane. A packed tensor's GpuTensor shape is
 * [planes, N, H, W, ⌈C/32⌉]; C itself is known to its producer and consumer.
 */

/** What a packed tensor's planes hold: a QuantConv activation quantizer's codes. */
export type PackedEncoding =
  /** One plane, bit 1 = −1 (x < 0), 0 = +1. */
  | { readonly mode: 'sign' }
  /** Plane 0 non-zero, plane 1 negative: codes −1, 0, +1. */
  | { readonly mode: 'sign0' }
  /** `bits` planes of the code 0..2^bits − 1, plane m holding bit m. */
  | { readonly mode: 'bits'; readonly bits: number };

/**
 * What the pack kernel computes: the spec's quantizers, plus the ternary threshold |x| > δ of the
 * older bitwise kernels (sign0 is δ = 0).
 */
export type PackRule =
  | { readonly kind: 'sign' }
  | { readonly kind: 'ternary'; readonly delta: number }
  | { readonly kind: 'bits'; readonly bits: number };

export function checkEncoding(e: PackedEncoding): void {
  if (e.mode === 'bits' && !(Number.isInteger(e.bits) && e.bits >= 1 && e.bits <= MAX_QUANT_BITS))
    throw new GpuError(
      'invalid-argument',
      `packed "bits" tensors hold 1..${MAX_QUANT_BITS} bits per value, got ${e.bits}.`,
    );
}

/** Planes of an encoding. */
export function encodingPlanes(e: PackedEncoding): number {
  return e.mode === 'sign' ? 1 : e.mode === 'sign0' ? 2 : e.bits;
}

/** The GpuTensor shape of `e`-packed [N, C, H, W]: [planes, N, H, W, ⌈C/32⌉]. */
export function packedShape(
  shape: readonly [number, number, number, number],
  e: PackedEncoding,
): [number, number, number, number, number] {
  const [n, c, h, w] = shape;
  return [encodingPlanes(e), n, h, w, Math.ceil(c / 32)];
}

function ruleOf(e: PackedEncoding): PackRule {
  return e.mode === 'sign'
    ? { kind: 'sign' }
    : e.mode === 'sign0'
      ? { kind: 'ternary', delta: 0 }
      : { kind: 'bits', bits: e.bits };
}

const f32 = new Float32Array(1);
const f32Word = new Uint32Array(f32.buffer);
function nextUp(x: number): number {
  f32[0] = x;
  f32Word[0] = x > 0 ? f32Word[0]! + 1 : x === 0 ? 1 : f32Word[0]! - 1;
  return f32[0]!;
}
function nextDown(x: number): number {
  f32[0] = x;
  f32Word[0] = x > 0 ? f32Word[0]! - 1 : f32Word[0]! + 1;
  return f32[0]!;
}

/**
 * The f32 bit patterns of the smallest x with bitsCode(x) ≥ j, for j = 1..L. The kernel finds a code
 * by comparing x with these instead of computing clamp(x)·L + ½: a shader compiler may contract that
 * into one fused multiply-add, which rounds differently from the spec's two f32 steps at code boundaries.
 */
function codeBoundaries(bits: number): Uint32Array {
  const levels = quantLevels(bits);
  const out = new Uint32Array(levels);
  for (let j = 1; j <= levels; j++) {
    let x = Math.fround((j - 0.5) / levels);
    while (bitsCode(x, bits) >= j) x = nextDown(x);
    while (bitsCode(x, bits) < j) x = nextUp(x);
    f32[0] = x;
    out[j - 1] = f32Word[0]!;
  }
  return out;
}

/**
 * A per-channel map x → d·x + e applied before the quantizer, with d ∈ {−1, 0, +1} so that it is exact
 * in f32 (a fused multiply-add rounds it the same): a batch norm and sign folded into thresholds.
 */
export interface PackAffine {
  /** d [C]: −1, 0 or +1. */
  readonly scale: GpuTensor;
  /** e [C]. */
  readonly shift: GpuTensor;
}

const PACK: Program<{
  readonly shape: readonly [number, number, number, number];
  readonly rule: PackRule;
  readonly affine: boolean;
}> = {
  name: 'pack-bits',
  wgsl: ({ shape, rule, affine }) => {
    const [n, c, h, w] = shape;
    const words = Math.ceil(c / 32);
    const planeSize = n * h * w * words;
    const planes = rule.kind === 'sign' ? 1 : rule.kind === 'ternary' ? 2 : rule.bits;
    const body =
      rule.kind === 'sign'
        ? 'if (v < 0.0) { pl[0] |= bit; }'
        : rule.kind === 'ternary'
          ? `if (abs(v) > ${f(rule.delta)}) { pl[0] |= bit; } if (v < -${f(rule.delta)}) { pl[1] |= bit; }`
          : `var q = 0u;
    for (var step = ${u(2 ** (rule.bits - 1))}; step > 0u; step >>= 1u) {
      if (v >= bitcast<f32>(boundary[q + step - 1u])) { q += step; }
    }
    for (var m = 0u; m < ${u(planes)}; m++) { pl[m] |= ((q >> m) & 1u) << j; }`;
    return elementwiseWgsl(
      bindings([
        ['x', 'array<f32>', 'read'],
        ['out', 'array<u32>', 'read_write'],
        ...(rule.kind === 'bits' ? ([['boundary', 'array<u32>', 'read']] as const) : []),
        ...(affine
          ? ([
              ['inScale', 'array<f32>', 'read'],
              ['inShift', 'array<f32>', 'read'],
            ] as const)
          : []),
      ]),
      u(planeSize),
      `let word = e % ${u(words)};
  let pos = (e / ${u(words)}) % ${u(h * w)};
  let img = e / ${u(words * h * w)};
  var pl: array<u32, ${planes}>;
  for (var j = 0u; j < 32u; j++) {
    let ch = word * 32u + j;
    if (ch >= ${u(c)}) { break; }
    let v = ${affine ? 'inScale[ch] * ' : ''}x[(img * ${u(c)} + ch) * ${u(h * w)} + pos]${affine ? ' + inShift[ch]' : ''};
    let bit = 1u << j;
    ${body}
  }
  for (var m = 0u; m < ${u(planes)}; m++) { out[m * ${u(planeSize)} + e] = pl[m]; }`,
    );
  },
};

/** Packs f32 NCHW `x` of `shape` by `rule` into `out` (planes × N·H·W·⌈C/32⌉ words). */
export function encodePackRule(
  r: Recorder,
  x: GpuTensor,
  out: GpuTensor,
  shape: readonly [number, number, number, number],
  rule: PackRule,
  affine?: PackAffine,
): void {
  const [n, c, h, w] = shape;
  const words = n * h * w * Math.ceil(c / 32);
  const planes = rule.kind === 'sign' ? 1 : rule.kind === 'ternary' ? 2 : rule.bits;
  if (x.size !== n * c * h * w || out.size < planes * words)
    throw new GpuError(
      'invalid-argument',
      `packing [${shape.join(', ')}] needs ${n * c * h * w} inputs and ${planes * words} output words, got ${x.size} and ${out.size}.`,
    );
  const buffers: (GpuTensor | GPUBuffer)[] = [x, out];
  if (affine && (affine.scale.size !== c || affine.shift.size !== c))
    throw new GpuError(
      'invalid-argument',
      `a per-channel map before packing [${shape.join(', ')}] takes ${c} scales and shifts, got ${affine.scale.size} and ${affine.shift.size}.`,
    );
  if (rule.kind === 'bits') buffers.push(r.gpu.constants(codeBoundaries(rule.bits)));
  if (affine) buffers.push(affine.scale, affine.shift);
  dispatchElementwise(r, 'pack-bits', PACK, { shape, rule, affine: affine !== undefined }, words, buffers);
}

/**
 * Quantizes and packs f32 NCHW `x` of `shape` into `out` (shape {@link packedShape}) as `encoding`'s
 * codes, of d·x + e per channel where `affine` is given.
 */
export function encodePack(
  r: Recorder,
  x: GpuTensor,
  out: GpuTensor,
  shape: readonly [number, number, number, number],
  encoding: PackedEncoding,
  affine?: PackAffine,
): void {
  checkEncoding(encoding);
  encodePackRule(r, x, out, shape, ruleOf(encoding), affine);
}

/**
 * f32 values of code/L, L = 2^bits − 1, rounded once as the spec does: WGSL division need not be
 * correctly rounded, so the kernel looks them up instead of dividing.
 */
function codeValues(bits: number): Uint32Array {
  const levels = quantLevels(bits);
  return new Uint32Array(Float32Array.from({ length: levels + 1 }, (_, q) => q / levels).buffer);
}

const UNPACK: Program<{
  readonly shape: readonly [number, number, number, number];
  readonly encoding: PackedEncoding;
}> = {
  name: 'unpack-bits',
  wgsl: ({ shape, encoding }) => {
    const [n, c, h, w] = shape;
    const words = Math.ceil(c / 32);
    const planeSize = n * h * w * words;
    const value =
      encoding.mode === 'sign'
        ? 'select(1.0, -1.0, bit(0u) == 1u)'
        : encoding.mode === 'sign0'
          ? 'f32(bit(0u)) * select(1.0, -1.0, bit(1u) == 1u)'
          : `bitcast<f32>(values[${Array.from({ length: encoding.bits }, (_, m) => `(bit(${u(m)}) << ${u(m)})`).join(' | ')}])`;
    return elementwiseWgsl(
      `${bindings([
        ['xb', 'array<u32>', 'read'],
        ['y', 'array<f32>', 'read_write'],
        ...(encoding.mode === 'bits' ? ([['values', 'array<u32>', 'read']] as const) : []),
      ])}
var<private> at: u32;
var<private> shift: u32;
fn bit(m: u32) -> u32 { return (xb[m * ${u(planeSize)} + at] >> shift) & 1u; }`,
      u(n * c * h * w),
      `let pos = e % ${u(h * w)};
  let ch = (e / ${u(h * w)}) % ${u(c)};
  let img = e / ${u(c * h * w)};
  at = (img * ${u(h * w)} + pos) * ${u(words)} + ch / 32u;
  shift = ch % 32u;
  y[e] = ${value};`,
    );
  },
};

/** The f32 NCHW values of packed `x` (shape {@link packedShape} of `shape`): ±1, −1/0/+1, or code/L. */
export function encodeUnpackBits(
  r: Recorder,
  x: GpuTensor,
  y: GpuTensor,
  shape: readonly [number, number, number, number],
  encoding: PackedEncoding,
): void {
  checkEncoding(encoding);
  const [n, c, h, w] = shape;
  const total = n * c * h * w;
  const words = encodingPlanes(encoding) * n * h * w * Math.ceil(c / 32);
  if (y.size !== total || x.size < words)
    throw new GpuError(
      'invalid-argument',
      `unpacking [${shape.join(', ')}] needs ${words} packed words and ${total} outputs, got ${x.size} and ${y.size}.`,
    );
  const buffers: (GpuTensor | GPUBuffer)[] = [x, y];
  if (encoding.mode === 'bits') buffers.push(r.gpu.constants(codeValues(encoding.bits)));
  dispatchElementwise(r, 'unpack-bits', UNPACK, { shape, encoding }, total, buffers);
}
