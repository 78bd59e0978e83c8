import { RuntimeError } from '../errors.js';
import { attrNumber, attrString, type GraphNode } from '../graph.js';
import { type DType, tensor } from '../tensor.js';
import { expectDtype, storage } from './cast.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

/** Coefficients of Numerical Recipes' erfc(z) ≈ t·exp(−z² + Σ cₖtᵏ), t = 1/(1 + z/2): relative error < 1.2e-7. */
const ERFC_FIT = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
  -0.82215223, 0.17087277,
];

/** erf(x) to about 1e-7 relative: its Taylor series near 0, Numerical Recipes' erfc fit elsewhere. */
export function erf(x: number): number {
  const z = Math.abs(x);
  if (z < 0.5) {
    // Σ (−1)ⁿ x²ⁿ⁺¹ / (n!(2n+1)), scaled by 2/√π
    let term = x;
    let sum = x;
    for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  const t = 1 / (1 + 0.5 * z);
  const poly = ERFC_FIT.reduceRight((acc, c) => acc * t + c, 0);
  const erfc = t * Math.exp(-z * z + poly);
  return Math.sign(x) * (1 - erfc);
}

/** Round half to even, as ONNX's Round does. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** log(1 + eˣ) without overflow for large x. */
const softplus = (v: number) => (v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v)));

const FLOAT: readonly DType[] = ['float32'];
const SIGNED: readonly DType[] = ['float32', 'int64'];
const NUMERIC: readonly DType[] = ['float32', 'int64', 'uint8'];

interface UnarySpec {
  readonly op: string;
  /** y = f(x) for this node's attributes. */
  readonly f: (node: GraphNode) => (v: number) => number;
  /** The input dtypes ONNX allows that tensor.ts holds; float32 only by default. */
  readonly dtypes?: readonly DType[];
  /** The output dtype when it is not the input's. */
  readonly to?: DType;
}

// ONNX's float32 defaults for Selu
const SELU_ALPHA = Math.fround(1.6732632);
const SELU_GAMMA = Math.fround(1.050701);

const fixed = (f: (v: number) => number) => () => f;
const alpha = (node: GraphNode, fallback: number) => attrNumber(node, 'alpha', fallback);

function gelu(node: GraphNode): (v: number) => number {
  const approximate = attrString(node, 'approximate', 'none');
  if (approximate === 'none') return (v) => 0.5 * v * (1 + erf(v / Math.SQRT2));
  if (approximate === 'tanh') {
    const c = Math.sqrt(2 / Math.PI);
    return (v) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v * v * v)));
  }
  throw new RuntimeError(
    'unsupported-op',
    `Gelu '${node.name}' has approximate '${approximate}'; use 'none' or 'tanh'.`,
  );
}

const SPECS: readonly UnarySpec[] = [
  { op: 'Abs', f: fixed(Math.abs), dtypes: NUMERIC },
  { op: 'Neg', f: fixed((v) => -v), dtypes: SIGNED },
  { op: 'Sign', f: fixed(Math.sign), dtypes: NUMERIC },
  { op: 'Sqrt', f: fixed(Math.sqrt) },
  { op: 'Exp', f: fixed(Math.exp) },
  { op: 'Log', f: fixed(Math.log) },
  { op: 'Reciprocal', f: fixed((v) => 1 / v) },
  { op: 'Floor', f: fixed(Math.floor) },
  { op: 'Ceil', f: fixed(Math.ceil) },
  { op: 'Round', f: fixed(roundHalfEven) },
  { op: 'Erf', f: fixed(erf) },
  { op: 'Sin', f: fixed(Math.sin) },
  { op: 'Cos', f: fixed(Math.cos) },
  { op: 'Tan', f: fixed(Math.tan) },
  { op: 'Asin', f: fixed(Math.asin) },
  { op: 'Acos', f: fixed(Math.acos) },
  { op: 'Atan', f: fixed(Math.atan) },
  { op: 'Sinh', f: fixed(Math.sinh) },
  { op: 'Cosh', f: fixed(Math.cosh) },
  { op: 'Tanh', f: fixed(Math.tanh) },
  { op: 'Asinh', f: fixed(Math.asinh) },
  { op: 'Acosh', f: fixed(Math.acosh) },
  { op: 'Atanh', f: fixed(Math.atanh) },
  { op: 'Softplus', f: fixed(softplus) },
  { op: 'Softsign', f: fixed((v) => v / (1 + Math.abs(v))) },
  { op: 'Mish', f: fixed((v) => v * Math.tanh(softplus(v))) },
  {
    op: 'Elu',
    f: (node) => {
      const a = alpha(node, 1);
      return (v) => (v < 0 ? a * Math.expm1(v) : v);
    },
  },
  {
    op: 'Selu',
    f: (node) => {
      const a = alpha(node, SELU_ALPHA);
      const gamma = attrNumber(node, 'gamma', SELU_GAMMA);
      return (v) => gamma * (v > 0 ? v : a * Math.expm1(v));
    },
  },
  {
    op: 'Celu',
    f: (node) => {
      const a = alpha(node, 1);
      return (v) => Math.max(0, v) + Math.min(0, a * Math.expm1(v / a));
    },
  },
  {
    op: 'ThresholdedRelu',
    f: (node) => {
      const a = alpha(node, 1);
      return (v) => (v > a ? v : 0);
    },
  },
  {
    op: 'Shrink',
    f: (node) => {
      const lambd = attrNumber(node, 'lambd', 0.5);
      const bias = attrNumber(node, 'bias', 0);
      return (v) => (v < -lambd ? v + bias : v > lambd ? v - bias : 0);
    },
  },
  { op: 'Gelu', f: gelu },
  { op: 'Not', f: fixed((v) => (v ? 0 : 1)), dtypes: ['bool'] },
  { op: 'IsNaN', f: fixed((v) => (Number.isNaN(v) ? 1 : 0)), to: 'bool' },
  {
    op: 'IsInf',
    f: (node) => {
      const neg = attrNumber(node, 'detect_negative', 1) === 1;
      const pos = attrNumber(node, 'detect_positive', 1) === 1;
      return (v) =>
        (v === Number.NEGATIVE_INFINITY && neg) || (v === Number.POSITIVE_INFINITY && pos) ? 1 : 0;
    },
    to: 'bool',
  },
];

function unary(spec: UnarySpec): OpDef {
  const dtypes = spec.dtypes ?? FLOAT;
  const outDtype = (dtype: DType) => spec.to ?? dtype;
  return {
    op: spec.op,
    infer(node, inputs) {
      const x = need(node, inputs, 0);
      expectDtype(node, x.dtype, dtypes);
      return [{ shape: x.shape, dtype: outDtype(x.dtype) }];
    },
    run(node, inputs) {
      const x = need(node, inputs, 0);
      expectDtype(node, x.dtype, dtypes);
      const dtype = outDtype(x.dtype);
      const f = spec.f(node);
      // + 0 keeps −0 (Neg of 0) out of integer results, which have no negative zero
      const g = dtype === 'float32' ? f : (v: number) => f(v) + 0;
      const y = storage(dtype, x.data.length);
      for (let i = 0; i < y.length; i++) y[i] = g(x.data[i]!);
      return [tensor(dtype, x.shape, y)];
    },
  };
}

export const unaryMathOps: readonly OpDef[] = SPECS.map(unary);
