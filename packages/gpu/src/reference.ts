import type { ConvGeometry } from './geometry.js';
import { type BinaryOp, type UnaryOp, type UnaryParams, unaryParams } from './pointwise.js';
import { strides } from './tensor.js';
import type { Activation } from './wgsl.js';

// Plain-TypeScript references of every kernel, written for clarity, not speed; the tests compare
// the GPU against them. Tensors are NCHW (activations) and OIHW (weights), f32.

/** erf in double precision: its Maclaurin series below 3, the continued fraction of erfc above. */
export function erfReference(x: number): number {
  const a = Math.abs(x);
  if (Number.isNaN(a)) return a;
  let y: number;
  if (a < 3) {
    let sum = 0;
    let term = a;
    for (let n = 0; Math.abs(term) > 1e-17 * sum; n++) {
      sum += term / (2 * n + 1);
      term *= (-a * a) / (n + 1);
    }
    y = (sum * 2) / Math.sqrt(Math.PI);
  } else {
    let f = 0;
    for (let k = 60; k >= 1; k--) f = k / 2 / (a + f);
    y = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
  }
  return Math.sign(x) * y;
}

/** A unary op on one value, with ONNX's parameter defaults. */
export function unaryReference(op: UnaryOp, v: number, params?: UnaryParams): number {
  const [a, b] = unaryParams(op, params);
  switch (op) {
    case 'identity':
      return v;
    case 'relu':
      return Math.max(v, 0);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-v));
    case 'tanh':
      return Math.tanh(v);
    case 'abs':
      return Math.abs(v);
    case 'neg':
      return -v;
    case 'sqrt':
      return Math.sqrt(v);
    case 'exp':
      return Math.exp(v);
    case 'log':
      return Math.log(v);
    case 'erf':
      return erfReference(v);
    case 'reciprocal':
      return 1 / v;
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    case 'softplus':
      return Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
    case 'softsign':
      return v / (1 + Math.abs(v));
    case 'elu':
      return v >= 0 ? v : a * Math.expm1(v);
    case 'selu':
      return b * (v > 0 ? v : a * Math.expm1(v));
    case 'leakyrelu':
      return v >= 0 ? v : a * v;
    case 'hardsigmoid':
      return Math.min(Math.max(a * v + b, 0), 1);
    case 'hardswish':
      return v * Math.min(Math.max(v / 6 + 0.5, 0), 1);
    case 'clip':
      return Math.min(Math.max(v, a), b);
    case 'relu6':
      return Math.min(Math.max(v, 0), 6);
    case 'htanh':
      return Math.min(Math.max(v, -1), 1);
  }
}

export function applyActivation(v: number, a: Activation): number {
  return unaryReference(a === 'none' ? 'identity' : a, v);
}

/** A binary op on two values as ONNX Runtime computes it (C's pow, NaN-propagating max and min). */
export function binaryOpReference(op: BinaryOp): (x: number, y: number) => number {
  switch (op) {
    case 'add':
      return (x, y) => x + y;
    case 'sub':
      return (x, y) => x - y;
    case 'mul':
      return (x, y) => x * y;
    case 'div':
      return (x, y) => x / y;
    // JavaScript's ** is C's pow except that 1 ** NaN is NaN
    case 'pow':
      return (x, y) => (x === 1 ? 1 : x ** y);
    case 'max':
      return Math.max;
    case 'min':
      return Math.min;
  }
}

/**
 * Visits each output element of a convolution with a function that sums over its in-bounds taps;
 * zero padding means out-of-bounds taps contribute nothing.
 */
export function convReference(
  g: ConvGeometry,
  tap: (n: number, o: number, ci: number, iy: number, ix: number, ky: number, kx: number) => number,
  epilogue: (o: number, acc: number, i: number) => number,
): Float32Array {
  const y = new Float32Array(g.n * g.o * g.ho * g.wo);
  for (let n = 0; n < g.n; n++) {
    for (let o = 0; o < g.o; o++) {
      const grp = Math.floor(o / g.og);
      for (let oy = 0; oy < g.ho; oy++) {
        for (let ox = 0; ox < g.wo; ox++) {
          let acc = 0;
          for (let c = 0; c < g.cg; c++) {
            for (let ky = 0; ky < g.kh; ky++) {
              const iy = oy * g.sh - g.pt + ky * g.dh;
              if (iy < 0 || iy >= g.h) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ix = ox * g.sw - g.pl + kx * g.dw;
                if (ix < 0 || ix >= g.w) continue;
                acc += tap(n, o, grp * g.cg + c, iy, ix, ky, kx);
              }
            }
          }
          const i = ((n * g.o + o) * g.ho + oy) * g.wo + ox;
          y[i] = epilogue(o, acc, i);
        }
      }
    }
  }
  return y;
}

/** Dense f32 convolution with bias, then a residual of the output's shape where given, then activation. */
export function conv2dReference(
  g: ConvGeometry,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  activation: Activation = 'none',
  residual?: Float32Array,
): Float32Array {
  return convReference(
    g,
    (n, o, ci, iy, ix, ky, kx) =>
      x[((n * g.c + ci) * g.h + iy) * g.w + ix]! * w[((o * g.cg + (ci % g.cg)) * g.kh + ky) * g.kw + kx]!,
    (o, acc, i) => applyActivation(acc + (bias?.[o] ?? 0) + (residual?.[i] ?? 0), activation),
  );
}

/** y[b, o] = act(Σ_k x[b, k]·w[o, k] + bias[o]). */
export function fcReference(
  x: Float32Array,
  batch: number,
  w: Float32Array,
  outputs: number,
  bias: Float32Array | undefined,
  activation: Activation = 'none',
): Float32Array {
  const k = w.length / outputs;
  const y = new Float32Array(batch * outputs);
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outputs; o++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += x[b * k + i]! * w[o * k + i]!;
      y[b * outputs + o] = applyActivation(acc + (bias?.[o] ?? 0), activation);
    }
  }
  return y;
}

/** Row-major strides of a shape. */

/** numpy-style broadcasting binary op; 'float64' precision keeps integers exact (shape arithmetic). */
export function binaryReference(
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  op: (x: number, y: number) => number,
  precision: 'float32' | 'float64' = 'float32',
): { data: Float32Array | Float64Array; shape: number[] } {
  const rank = Math.max(aShape.length, bShape.length);
  const pa = [...Array(rank - aShape.length).fill(1), ...aShape];
  const pb = [...Array(rank - bShape.length).fill(1), ...bShape];
  const shape = pa.map((d, i) => Math.max(d, pb[i]!));
  const [sa, sb] = [strides(pa), strides(pb)];
  const size = shape.reduce((x, y) => x * y, 1);
  const data = precision === 'float64' ? new Float64Array(size) : new Float32Array(size);
  // a broadcast axis steps its operand by 0; the positions advance as an odometer, last axis fastest
  const [da, db] = [sa.map((s, d) => (pa[d] === 1 ? 0 : s)), sb.map((s, d) => (pb[d] === 1 ? 0 : s))];
  const pos = Array<number>(rank).fill(0);
  let [ia, ib] = [0, 0];
  for (let e = 0; e < size; e++) {
    data[e] = op(a[ia]!, b[ib]!);
    for (let d = rank - 1; d >= 0; d--) {
      ia += da[d]!;
      ib += db[d]!;
      if (++pos[d]! < shape[d]!) break;
      ia -= da[d]! * shape[d]!;
      ib -= db[d]! * shape[d]!;
      pos[d] = 0;
    }
  }
  return { data, shape };
}

/** Max or average pooling of NCHW with explicit output size; avg divides by in-bounds taps unless countIncludePad. */
export function poolReference(
  x: Float32Array,
  shape: readonly [number, number, number, number],
  kind: 'max' | 'avg',
  k: readonly [number, number],
  s: readonly [number, number],
  pads: readonly [number, number, number, number],
  d: readonly [number, number],
  ho: number,
  wo: number,
  countIncludePad = false,
): Float32Array {
  const [n, c, h, w] = shape;
  const y = new Float32Array(n * c * ho * wo);
  for (let nc = 0; nc < n * c; nc++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        let acc = kind === 'max' ? Number.NEGATIVE_INFINITY : 0;
        let cnt = 0;
        // count_include_pad counts the taps inside the padded input (ceil mode can run past it)
        let padded = 0;
        for (let ky = 0; ky < k[0]; ky++) {
          for (let kx = 0; kx < k[1]; kx++) {
            const iy = oy * s[0] - pads[0] + ky * d[0];
            const ix = ox * s[1] - pads[1] + kx * d[1];
            if (iy < h + pads[2] && ix < w + pads[3]) padded++;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const v = x[(nc * h + iy) * w + ix]!;
            acc = kind === 'max' ? Math.max(acc, v) : acc + v;
            cnt++;
          }
        }
        y[(nc * ho + oy) * wo + ox] =
          kind === 'max' ? acc : acc / Math.max(countIncludePad ? padded : cnt, 1);
      }
    }
  }
  return y;
}

/** Axis permutation: y.shape[i] = shape[perm[i]]. */
export function transposeReference(
  x: Float32Array,
  shape: readonly number[],
  perm: readonly number[],
): Float32Array {
  const out = perm.map((p) => shape[p]!);
  const [si, so] = [strides(shape), strides(out)];
  return Float32Array.from(
    { length: x.length },
    (_, e) => x[perm.reduce((idx, p, dd) => idx + (Math.floor(e / so[dd]!) % out[dd]!) * si[p]!, 0)]!,
  );
}

/** Softmax over the last axis. */
export function softmaxReference(x: Float32Array, cols: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const m = Math.max(...row);
    const s = row.reduce((acc, v) => acc + Math.exp(v - m), 0);
    row.forEach((v, i) => {
      y[r * cols + i] = Math.exp(v - m) / s;
    });
  }
  return y;
}
