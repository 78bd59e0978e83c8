import { checkInt, GpuError } from './errors.js';
import { type ConvGeometry, type ConvParams, convGeometry } from './geometry.js';

// QuantConv: a convolution of integer activation codes with integer weight codes, summed exactly,
// then scaled to floats or compared against thresholds to give codes again. This is its exact
// reference: the GPU kernels and the runtime's CPU executor both answer to it.

export const QUANT_ACTIVATIONS = ['sign', 'sign0', 'bits'] as const;
/** How X becomes integer codes: sign (±1, sign(0) = +1), sign0 (−1, 0, +1) or k-bit DoReFa (0..La). */
export type QuantActivations = (typeof QUANT_ACTIVATIONS)[number];

export const QUANT_WEIGHTS = ['binary', 'ternary', 'bits'] as const;
/** What W holds: ±1, {−1, 0, +1}, or the k-bit DoReFa grid 2q/Lw − 1. */
export type QuantWeights = (typeof QUANT_WEIGHTS)[number];

export const QUANT_OUTPUTS = ['float', 'sign', 'bits'] as const;
/** What the accumulator becomes: S·acc + B, ±1 by one threshold, or code/Lo by Lo thresholds. */
export type QuantOutput = (typeof QUANT_OUTPUTS)[number];

/** The widest k of any "bits" mode. */
export const MAX_QUANT_BITS = 8;

/** Accumulators stay below this so that they, and their f32 copies, are exact integers. */
export const MAX_QUANT_ACCUMULATOR = 2 ** 24;

/** How far (in code units) a "bits" weight may sit from its grid point: f32 cannot hold 2q/Lw − 1 exactly. */
const GRID_TOLERANCE = 1e-4;

/** A QuantConv's quantizers, output transform and geometry. */
export interface QuantConvSpec {
  readonly activations: QuantActivations;
  readonly weights: QuantWeights;
  readonly output: QuantOutput;
  /** k of "bits" activations (required by them, ignored otherwise). */
  readonly activationBits?: number;
  /** k of "bits" weights. */
  readonly weightBits?: number;
  /** k of "bits" output. */
  readonly outputBits?: number;
  /** Strides, pads and dilation as ONNX Conv; groups must be 1. */
  readonly conv?: ConvParams;
}

/**
 * The output transform's inputs, flat row-major: S [O] and B [O] for "float", T [O, Lo] otherwise;
 * a "float" output may add a residual R [N, O, Ho, Wo] as well (Bi-Real's shortcut): S·acc + B + R.
 */
export interface QuantConvParams {
  readonly scale?: ArrayLike<number>;
  readonly bias?: ArrayLike<number>;
  readonly thresholds?: ArrayLike<number>;
  readonly residual?: ArrayLike<number>;
}

/** 2^k − 1. */
export function quantLevels(bits: number): number {
  return 2 ** bits - 1;
}

function bitsOf(what: string, bits: number | undefined): number {
  if (bits === undefined)
    throw new GpuError(
      'invalid-argument',
      `"bits" ${what} need their bit width; set it to an integer in 1..8.`,
    );
  checkInt(`${what} bits`, bits, 1, MAX_QUANT_BITS);
  return bits;
}

/** The largest activation code: La for "bits", 1 for the sign modes. */
export function activationLevels(spec: QuantConvSpec): number {
  return spec.activations === 'bits' ? quantLevels(bitsOf('activations', spec.activationBits)) : 1;
}

/** The largest |weight code|: Lw for "bits", 1 otherwise. */
export function weightLevels(spec: QuantConvSpec): number {
  return spec.weights === 'bits' ? quantLevels(bitsOf('weights', spec.weightBits)) : 1;
}

/** Thresholds per output channel: 0 for "float", 1 for "sign", Lo for "bits". */
export function outputLevels(spec: QuantConvSpec): number {
  if (spec.output === 'float') return 0;
  return spec.output === 'sign' ? 1 : quantLevels(bitsOf('output', spec.outputBits));
}

/** BinaryNet's sign: −1 below zero, +1 otherwise (zero included). */
export function signCode(x: number): number {
  return x < 0 ? -1 : 1;
}

/** ONNX Sign: −1, 0 or +1. */
export function sign0Code(x: number): number {
  return x < 0 ? -1 : x > 0 ? 1 : 0;
}

/** DoReFa's k-bit activation code floor(clamp(x, 0, 1)·La + ½), every step in f32 as the GPU and ONNX do it. */
export function bitsCode(x: number, bits: number): number {
  const scaled = Math.fround(Math.min(Math.max(x, 0), 1) * quantLevels(bits));
  return Math.floor(Math.fround(scaled + 0.5));
}

/** The activation quantizer of a spec, value to code. */
export function activationCode(spec: QuantConvSpec): (x: number) => number {
  switch (spec.activations) {
    case 'sign':
      return signCode;
    case 'sign0':
      return sign0Code;
    case 'bits': {
      const bits = bitsOf('activations', spec.activationBits);
      return (x) => bitsCode(x, bits);
    }
  }
}

/**
 * The weight quantizer of a grid, value to integer code, or undefined for a value off the grid; made
 * once per tensor, so that scanning millions of weights does not decide the grid per weight.
 */
export function weightCoder(weights: QuantWeights, bits?: number): (v: number) => number | undefined {
  switch (weights) {
    case 'binary':
      return (v) => (v === 1 || v === -1 ? v : undefined);
    case 'ternary':
      // + 0 turns −0 into 0
      return (v) => (v === 1 || v === -1 || v === 0 ? v + 0 : undefined);
    case 'bits': {
      // w = 2q/Lw − 1 makes w·Lw = 2q − Lw: an integer of Lw's parity (odd) within [−Lw, Lw]
      const lw = quantLevels(bitsOf('weights', bits));
      return (v) => {
        const code = Math.round(v * lw);
        const onGrid =
          Math.abs(v * lw - code) <= GRID_TOLERANCE && Math.abs(code) <= lw && (code - lw) % 2 === 0;
        return onGrid ? code : undefined;
      };
    }
  }
}

/** The integer code of weight value `v`, or undefined when `v` is off the grid of `weights`. */
export function weightCode(v: number, weights: QuantWeights, bits?: number): number | undefined {
  return weightCoder(weights, bits)(v);
}

/** Index of the first weight off the grid of `weights`, or −1 when every one is on it. */
export function offGridWeight(w: ArrayLike<number>, weights: QuantWeights, bits?: number): number {
  const code = weightCoder(weights, bits);
  for (let i = 0; i < w.length; i++) if (code(w[i]!) === undefined) return i;
  return -1;
}

/** Row of the first threshold row that is NaN somewhere or decreases, or −1 when all are in order. */
export function unorderedThresholdRow(t: ArrayLike<number>, rows: number, cols: number): number {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const v = t[r * cols + j]!;
      if (Number.isNaN(v) || (j > 0 && v < t[r * cols + j - 1]!)) return r;
    }
  }
  return -1;
}

/** Activation codes of X, one per element. */
export function quantActivationCodes(x: ArrayLike<number>, spec: QuantConvSpec): Int16Array {
  const code = activationCode(spec);
  return Int16Array.from({ length: x.length }, (_, i) => code(x[i]!));
}

/** Weight codes of W; a weight off its grid is an error, not a rounded value. */
export function quantWeightCodes(w: ArrayLike<number>, spec: QuantConvSpec): Int16Array {
  const code = weightCoder(spec.weights, spec.weightBits);
  const codes = new Int16Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const c = code(w[i]!);
    if (c === undefined)
      throw new GpuError(
        'invalid-argument',
        `weight ${w[i]} at index ${i} is not on the "${spec.weights}" grid${spec.weights === 'bits' ? ` of ${spec.weightBits} bits` : ''}; quantize W before building the QuantConv.`,
      );
    codes[i] = c;
  }
  return codes;
}

/** The geometry of a QuantConv of X [N, C, H, W] and W [O, C, kh, kw], checked to have exact accumulators. */
export function quantConvGeometry(
  xShape: readonly number[],
  wShape: readonly number[],
  spec: QuantConvSpec,
): ConvGeometry {
  if ((spec.conv?.groups ?? 1) !== 1)
    throw new GpuError('invalid-argument', `a QuantConv has one group, got ${spec.conv?.groups}.`);
  const g = convGeometry(xShape, wShape, spec.conv);
  const bound = g.k * activationLevels(spec) * weightLevels(spec);
  if (bound >= MAX_QUANT_ACCUMULATOR)
    throw new GpuError(
      'limit-exceeded',
      `a QuantConv with ${g.k} taps per output could reach |acc| = ${bound}, beyond the exact 2^24; use fewer channels or bits.`,
    );
  return g;
}

/** acc[n, o, oy, ox] = Σ over in-bounds taps and channels of a·w, from activation and weight codes. */
export function quantConvAccumulators(
  g: ConvGeometry,
  a: ArrayLike<number>,
  w: ArrayLike<number>,
): Int32Array {
  const acc = new Int32Array(g.n * g.o * g.ho * g.wo);
  for (let n = 0; n < g.n; n++) {
    for (let o = 0; o < g.o; o++) {
      const out = acc.subarray((n * g.o + o) * g.ho * g.wo, (n * g.o + o + 1) * g.ho * g.wo);
      for (let c = 0; c < g.c; c++) {
        const ac = (n * g.c + c) * g.h * g.w;
        for (let ky = 0; ky < g.kh; ky++) {
          for (let kx = 0; kx < g.kw; kx++) {
            const wv = w[((o * g.c + c) * g.kh + ky) * g.kw + kx]!;
            if (wv === 0) continue;
            // output columns whose tap lands inside the input row; the rest read zero padding
            const dx = kx * g.dw - g.pl;
            const oxLo = Math.max(0, Math.ceil(-dx / g.sw));
            const oxHi = Math.min(g.wo, Math.floor((g.w - 1 - dx) / g.sw) + 1);
            for (let oy = 0; oy < g.ho; oy++) {
              const iy = oy * g.sh + ky * g.dh - g.pt;
              if (iy < 0 || iy >= g.h) continue;
              const row = ac + iy * g.w + dx;
              for (let ox = oxLo; ox < oxHi; ox++) out[oy * g.wo + ox]! += wv * a[row + ox * g.sw]!;
            }
          }
        }
      }
    }
  }
  return acc;
}

function paramOf(what: string, values: ArrayLike<number> | undefined, length: number): ArrayLike<number> {
  if (values?.length !== length)
    throw new GpuError(
      'invalid-argument',
      `the QuantConv output needs ${length} ${what} values, got ${values?.length ?? 'none'}.`,
    );
  return values;
}

/** The output transform of `spec` for O channels: (channel, accumulator) → output value. */
export function quantOutputTransform(
  spec: QuantConvSpec,
  params: QuantConvParams,
  channels: number,
): (o: number, acc: number) => number {
  if (spec.output === 'float') {
    const s = paramOf('scale', params.scale, channels);
    const b = paramOf('bias', params.bias, channels);
    return (o, acc) => Math.fround(Math.fround(s[o]! * acc) + b[o]!);
  }
  const lo = outputLevels(spec);
  const t = paramOf('threshold', params.thresholds, channels * lo);
  const bad = unorderedThresholdRow(t, channels, lo);
  if (bad >= 0)
    throw new GpuError(
      'invalid-argument',
      `QuantConv thresholds of output channel ${bad} are NaN or decrease; each row must be nondecreasing.`,
    );
  if (spec.output === 'sign') return (o, acc) => (acc >= t[o]! ? 1 : -1);
  return (o, acc) => {
    let code = 0;
    for (let j = 0; j < lo; j++) if (acc >= t[o * lo + j]!) code++;
    return Math.fround(code / lo);
  };
}

/** The QuantConv of X [N, C, H, W] (f32) with W [O, C, kh, kw] on its grid: Y [N, O, Ho, Wo]. */
export function quantConvReference(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  spec: QuantConvSpec,
  params: QuantConvParams,
): Float32Array {
  const g = quantConvGeometry(xShape, wShape, spec);
  for (const [what, data, shape] of [
    ['X', x, xShape],
    ['W', w, wShape],
  ] as const) {
    if (data.length !== shape.reduce((p, d) => p * d, 1))
      throw new GpuError(
        'invalid-argument',
        `QuantConv ${what} holds ${data.length} values, its shape [${shape.join(', ')}] needs their product.`,
      );
  }
  const transform = quantOutputTransform(spec, params, g.o);
  const acc = quantConvAccumulators(g, quantActivationCodes(x, spec), quantWeightCodes(w, spec));
  const plane = g.ho * g.wo;
  const r = params.residual;
  if (r && (spec.output !== 'float' || r.length !== acc.length))
    throw new GpuError(
      'invalid-argument',
      `a QuantConv residual is added to a float output of ${acc.length} values; got ${r.length} values for a "${spec.output}" output.`,
    );
  return Float32Array.from(acc, (v, i) => {
    const y = transform(Math.floor(i / plane) % g.o, v);
    return r ? Math.fround(y + r[i]!) : y;
  });
}
