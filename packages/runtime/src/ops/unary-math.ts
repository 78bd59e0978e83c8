import {
  type BinaryOp,
  encodeBinary,
  encodeUnary,
  type GpuTensor,
  type UnaryOp,
  type UnaryParams,
} from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, attrString, type GraphNode } from '../graph.js';
import { type DType, NUMERIC_DTYPES, tensor } from '../tensor.js';
import { expectDtype, storage } from './cast.js';
import type { EncodeContext, GpuOp, OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

/** One GPU dispatch of a pointwise op: a unary kernel, or a binary one against the node's input x or a scalar. */
export type PointwiseStep =
  | { readonly unary: UnaryOp; readonly params?: UnaryParams }
  | { readonly binary: BinaryOp; readonly with: 'x' | number };

/** The dispatches that compute a node on the GPU, or undefined when only the CPU computes it. */
export type PointwiseSteps = (
  node: GraphNode,
  inputs: readonly (ValueInfo | undefined)[],
) => readonly PointwiseStep[] | undefined;

const stepKernel = (s: PointwiseStep) => ('unary' in s ? `unary-${s.unary}` : `binary-${s.binary}`);

/** A float32 scalar on the GPU, uploaded once per node. */
export function gpuScalar(ctx: EncodeContext, v: number): GpuTensor {
  return ctx.cached(`scalar ${v}`, () => {
    const t = ctx.gpu.tensor([1], Float32Array.of(v));
    return { t, destroy: () => ctx.gpu.release(t) };
  }).t;
}

/**
 * The GPU side of a float32 pointwise op y = f(x) computed by `steps`, in order; the plan names their
 * kernels joined by '+'. Intermediates return to the pool once read.
 */
export function pointwiseGpu(steps: PointwiseSteps): GpuOp {
  return {
    plan(node, inputs) {
      const s = inputs[0]?.dtype === 'float32' ? steps(node, inputs) : undefined;
      return s && { kernel: s.map(stepKernel).join('+') };
    },
    encode(node, ctx, outputs) {
      const x = ctx.input(0);
      const s = steps(node, ctx.inputs)!;
      let acc = x;
      s.forEach((step, k) => {
        const y = k === s.length - 1 ? ctx.empty(outputs[0]!.shape) : ctx.gpu.empty(x.shape);
        if ('unary' in step) encodeUnary(ctx.r, acc, y, step.unary, step.params);
        else encodeBinary(ctx.r, acc, step.with === 'x' ? x : gpuScalar(ctx, step.with), y, step.binary);
        if (acc !== x) ctx.gpu.release(acc);
        acc = y;
      });
      return [acc];
    },
  };
}

/** One unary kernel with the node's parameters. */
export const unaryStep =
  (op: UnaryOp, params?: (node: GraphNode) => UnaryParams): PointwiseSteps =>
  (node) => [{ unary: op, ...(params && { params: params(node) }) }];

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
const SIGNED: readonly DType[] = ['float32', 'int64', 'int8'];

interface UnarySpec {
  readonly op: string;
  /** y = f(x) for this node's attributes. */
  readonly f: (node: GraphNode) => (v: number) => number;
  /** The input dtypes ONNX allows that tensor.ts holds; float32 only by default. */
  readonly dtypes?: readonly DType[];
  /** The output dtype when it is not the input's. */
  readonly to?: DType;
  /** Its GPU dispatches on float32 inputs; CPU only without. */
  readonly gpu?: PointwiseSteps;
}

// ONNX's float32 defaults for Selu
const SELU_ALPHA = Math.fround(1.6732632);
const SELU_GAMMA = Math.fround(1.050701);

const fixed = (f: (v: number) => number) => () => f;
const alpha = (node: GraphNode, fallback: number) => attrNumber(node, 'alpha', fallback);
const eluParams = (node: GraphNode) => ({ alpha: alpha(node, 1) });
const seluParams = (node: GraphNode) => ({
  alpha: alpha(node, SELU_ALPHA),
  gamma: attrNumber(node, 'gamma', SELU_GAMMA),
});

const approximation = (node: GraphNode) => attrString(node, 'approximate', 'none');

function gelu(node: GraphNode): (v: number) => number {
  const approximate = approximation(node);
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

/**
 * GELU's exact form on the GPU: 0.5·x·(1 + erf(x/√2)), where hardsigmoid(e; ½, ½) = clamp(½e + ½, 0, 1)
 * is ½(1 + e) exactly, since |erf| ≤ 1. The tanh approximation runs on the CPU.
 */
const geluSteps: PointwiseSteps = (node) =>
  approximation(node) === 'none'
    ? [
        { binary: 'mul', with: Math.SQRT1_2 },
        { unary: 'erf' },
        { unary: 'hardsigmoid', params: { alpha: 0.5, beta: 0.5 } },
        { binary: 'mul', with: 'x' },
      ]
    : undefined;

const SPECS: readonly UnarySpec[] = [
  { op: 'Abs', f: fixed(Math.abs), dtypes: NUMERIC_DTYPES, gpu: unaryStep('abs') },
  { op: 'Neg', f: fixed((v) => -v), dtypes: SIGNED, gpu: unaryStep('neg') },
  { op: 'Sign', f: fixed(Math.sign), dtypes: NUMERIC_DTYPES },
  { op: 'Sqrt', f: fixed(Math.sqrt), gpu: unaryStep('sqrt') },
  { op: 'Exp', f: fixed(Math.exp), gpu: unaryStep('exp') },
  { op: 'Log', f: fixed(Math.log), gpu: unaryStep('log') },
  { op: 'Reciprocal', f: fixed((v) => 1 / v), gpu: unaryStep('reciprocal') },
  { op: 'Floor', f: fixed(Math.floor), gpu: unaryStep('floor') },
  { op: 'Ceil', f: fixed(Math.ceil), gpu: unaryStep('ceil') },
  { op: 'Round', f: fixed(roundHalfEven) },
  { op: 'Erf', f: fixed(erf), gpu: unaryStep('erf') },
  { op: 'Sin', f: fixed(Math.sin) },
  { op: 'Cos', f: fixed(Math.cos) },
  { op: 'Tan', f: fixed(Math.tan) },
  { op: 'Asin', f: fixed(Math.asin) },
  { op: 'Acos', f: fixed(Math.acos) },
  { op: 'Atan', f: fixed(Math.atan) },
  { op: 'Sinh', f: fixed(Math.sinh) },
  { op: 'Cosh', f: fixed(Math.cosh) },
  { op: 'Tanh', f: fixed(Math.tanh), gpu: unaryStep('tanh') },
  { op: 'Asinh', f: fixed(Math.asinh) },
  { op: 'Acosh', f: fixed(Math.acosh) },
  { op: 'Atanh', f: fixed(Math.atanh) },
  { op: 'Softplus', f: fixed(softplus), gpu: unaryStep('softplus') },
  { op: 'Softsign', f: fixed((v) => v / (1 + Math.abs(v))), gpu: unaryStep('softsign') },
  {
    op: 'Mish',
    f: fixed((v) => v * Math.tanh(softplus(v))),
    gpu: () => [{ unary: 'softplus' }, { unary: 'tanh' }, { binary: 'mul', with: 'x' }],
  },
  {
    op: 'Elu',
    f: (node) => {
      const { alpha: a } = eluParams(node);
      return (v) => (v < 0 ? a * Math.expm1(v) : v);
    },
    gpu: unaryStep('elu', eluParams),
  },
  {
    op: 'Selu',
    f: (node) => {
      const { alpha: a, gamma } = seluParams(node);
      return (v) => gamma * (v > 0 ? v : a * Math.expm1(v));
    },
    gpu: unaryStep('selu', seluParams),
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
  { op: 'Gelu', f: gelu, gpu: geluSteps },
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
    ...(spec.gpu && { gpu: pointwiseGpu(spec.gpu) }),
  };
}

export const unaryMathOps: readonly OpDef[] = SPECS.map(unary);
