import { GpuError } from './errors.js';

// The pointwise math of the kernels: unary ops (ONNX activations and elementwise functions) and the
// binary ops of broadcasting arithmetic, as WGSL expressions. Their CPU references are in reference.ts.

export const UNARY_OPS = [
  'identity',
  'relu',
  'sigmoid',
  'tanh',
  'abs',
  'neg',
  'sqrt',
  'exp',
  'log',
  'erf',
  'reciprocal',
  'floor',
  'ceil',
  'softplus',
  'softsign',
  'elu',
  'selu',
  'leakyrelu',
  'hardsigmoid',
  'hardswish',
  'clip',
  'relu6',
  'htanh',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

/** Parameters of the unary ops that take them (ONNX attribute names); absent ones take ONNX's defaults. */
export interface UnaryParams {
  /** elu (1), selu (1.6733…), leakyrelu (0.01), hardsigmoid (0.2). */
  readonly alpha?: number;
  /** hardsigmoid (0.5). */
  readonly beta?: number;
  /** selu (1.0507…). */
  readonly gamma?: number;
  /** clip's bounds (−∞, +∞). */
  readonly min?: number;
  readonly max?: number;
}

interface UnaryDef {
  /** WGSL of the op on the f32 `v`, its parameters in the f32s `a` and `b`. */
  readonly wgsl: (v: string, a: string, b: string) => string;
  /** The values of `a` and `b`. */
  readonly params?: (p: UnaryParams) => [number, number];
  /** Module-scope functions the expression calls. */
  readonly helpers?: string;
}

/**
 * erf as x·P(x²)/Q(x²) on x clamped to [−4, 4] (beyond it erf is ±1 in f32): the rational minimax
 * form of Eigen's and XLA's f32 erf. Evaluated in f32 its error is at most 3.4e-7 (at |x| ≈ 3.94)
 * against a double-precision erf, and relative accuracy holds near 0 where GELU needs it.
 */
const ERF = /* wgsl */ `fn erf_(v: f32) -> f32 {
  let x = clamp(v, -4.0, 4.0);
  let x2 = x * x;
  var n = -2.72614225801306e-10;
  n = fma(n, x2, 2.77068142495902e-08);
  n = fma(n, x2, -2.10102402082508e-06);
  n = fma(n, x2, -5.69250639462346e-05);
  n = fma(n, x2, -7.34990630326855e-04);
  n = fma(n, x2, -2.95459980854025e-03);
  n = fma(n, x2, -1.60960333262415e-02);
  var d = -1.45660718464996e-05;
  d = fma(d, x2, -2.13374055278905e-04);
  d = fma(d, x2, -1.68282697438203e-03);
  d = fma(d, x2, -7.37332916720468e-03);
  d = fma(d, x2, -1.42647390514189e-02);
  return x * n / d;
}`;

// ONNX's selu defaults: the f32 values of the self-normalising constants
const SELU_ALPHA = Math.fround(1.6732632423543772);
const SELU_GAMMA = Math.fround(1.0507009873554805);

const UNARY: Record<UnaryOp, UnaryDef> = {
  identity: { wgsl: (v) => v },
  relu: { wgsl: (v) => `max(${v}, 0.0)` },
  sigmoid: { wgsl: (v) => `1.0 / (1.0 + exp(-${v}))` },
  // tanh(±15) is ±1 in f32; the clamp keeps implementations that compute tanh from exp off inf/inf
  tanh: { wgsl: (v) => `tanh(clamp(${v}, -15.0, 15.0))` },
  abs: { wgsl: (v) => `abs(${v})` },
  neg: { wgsl: (v) => `-${v}` },
  sqrt: { wgsl: (v) => `sqrt(${v})` },
  exp: { wgsl: (v) => `exp(${v})` },
  log: { wgsl: (v) => `log(${v})` },
  erf: { wgsl: (v) => `erf_(${v})`, helpers: ERF },
  reciprocal: { wgsl: (v) => `1.0 / ${v}` },
  floor: { wgsl: (v) => `floor(${v})` },
  ceil: { wgsl: (v) => `ceil(${v})` },
  // max(v, 0) + log(1 + e^−|v|): never overflows
  softplus: { wgsl: (v) => `max(${v}, 0.0) + log(1.0 + exp(-abs(${v})))` },
  softsign: { wgsl: (v) => `${v} / (1.0 + abs(${v}))` },
  elu: {
    wgsl: (v, a) => `select(${a} * (exp(${v}) - 1.0), ${v}, ${v} >= 0.0)`,
    params: (p) => [p.alpha ?? 1, 0],
  },
  selu: {
    wgsl: (v, a, b) => `${b} * select(${a} * (exp(${v}) - 1.0), ${v}, ${v} > 0.0)`,
    params: (p) => [p.alpha ?? SELU_ALPHA, p.gamma ?? SELU_GAMMA],
  },
  leakyrelu: {
    wgsl: (v, a) => `select(${a} * ${v}, ${v}, ${v} >= 0.0)`,
    params: (p) => [p.alpha ?? 0.01, 0],
  },
  hardsigmoid: {
    wgsl: (v, a, b) => `clamp(${a} * ${v} + ${b}, 0.0, 1.0)`,
    params: (p) => [p.alpha ?? 0.2, p.beta ?? 0.5],
  },
  hardswish: { wgsl: (v) => `${v} * clamp(${v} / 6.0 + 0.5, 0.0, 1.0)` },
  // min(max(v, lo), hi) as ONNX Runtime orders it, so lo > hi gives hi
  clip: {
    wgsl: (v, a, b) => `min(max(${v}, ${a}), ${b})`,
    params: (p) => [p.min ?? Number.NEGATIVE_INFINITY, p.max ?? Number.POSITIVE_INFINITY],
  },
  relu6: { wgsl: (v) => `clamp(${v}, 0.0, 6.0)` },
  htanh: { wgsl: (v) => `clamp(${v}, -1.0, 1.0)` },
};

export function checkUnaryOp(op: string): asserts op is UnaryOp {
  if (!Object.hasOwn(UNARY, op))
    throw new GpuError('invalid-argument', `unknown unary op '${op}'; use one of ${UNARY_OPS.join(', ')}.`);
}

/** The [a, b] parameters of `op` (0 where unused). */
export function unaryParams(op: UnaryOp, params: UnaryParams = {}): [number, number] {
  return UNARY[op].params?.(params) ?? [0, 0];
}

/** `fn <name>(v: f32) -> f32` applying `op` with its parameters read from the WGSL expressions `a` and `b`, and its helpers. */
export function unaryFn(op: UnaryOp, name: string, a = '0.0', b = '0.0'): string {
  checkUnaryOp(op);
  const def = UNARY[op];
  return `${def.helpers ?? ''}\nfn ${name}(v: f32) -> f32 { return ${def.wgsl('v', a, b)}; }`;
}

export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

/** NaN tests on the bits: a compiler that assumes no NaNs may fold `x != x` to false. */
const IS_NAN = /* wgsl */ `fn isNan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }`;

/** f32 of `bits` at run time (WGSL rejects a constant NaN or infinity). */
const FROM_BITS = /* wgsl */ `fn fromBits_(bits: u32) -> f32 { var b = bits; return bitcast<f32>(b); }`;

/**
 * ONNX Pow as ONNX Runtime computes it (C's pow): a negative base with an integral exponent gives
 * the signed power, with a fractional one NaN; x⁰ = 1 and 1^y = 1 even for NaN; 0^y is 0 for y > 0
 * and +∞ for y < 0.
 */
const POW = /* wgsl */ `${IS_NAN}
${FROM_BITS}
fn pow_(x: f32, y: f32) -> f32 {
  if (y == 0.0 || x == 1.0) { return 1.0; }
  if (x == 0.0) { return select(fromBits_(0x7f800000u), 0.0, y > 0.0); }
  let m = pow(abs(x), y);
  if (x > 0.0 || isNan_(x)) { return m; }
  if (floor(y) != y) { return fromBits_(0x7fc00000u); }
  return select(m, -m, fract(y * 0.5) != 0.0);
}`;

/** max and min propagate NaN, as ONNX Runtime's do (WGSL's may return the other operand). */
const minMax = (fn: 'max' | 'min') => ({
  wgsl: (a: string, b: string) => `select(${fn}(${a}, ${b}), ${a} + ${b}, isNan_(${a}) || isNan_(${b}))`,
  helpers: IS_NAN,
});

const BINARY: Record<BinaryOp, { wgsl: (a: string, b: string) => string; helpers?: string }> = {
  add: { wgsl: (a, b) => `${a} + ${b}` },
  sub: { wgsl: (a, b) => `${a} - ${b}` },
  mul: { wgsl: (a, b) => `${a} * ${b}` },
  div: { wgsl: (a, b) => `${a} / ${b}` },
  pow: { wgsl: (a, b) => `pow_(${a}, ${b})`, helpers: POW },
  max: minMax('max'),
  min: minMax('min'),
};

export function checkBinaryOp(op: string): asserts op is BinaryOp {
  if (!Object.hasOwn(BINARY, op))
    throw new GpuError('invalid-argument', `unknown binary op '${op}'; use one of ${BINARY_OPS.join(', ')}.`);
}

/** `fn <name>(a: f32, b: f32) -> f32` of `op`, and its helpers. */
export function binaryFn(op: BinaryOp, name: string): string {
  checkBinaryOp(op);
  const def = BINARY[op];
  return `${def.helpers ?? ''}\nfn ${name}(a: f32, b: f32) -> f32 { return ${def.wgsl('a', 'b')}; }`;
}
