import {
  type Activation,
  encodeActivation,
  encodeParamActivation,
  type ParamActivation,
} from '@zeroskip/gpu';
import { attrNumber, type GraphNode } from '../graph.js';
import { asFloat32, float32, type Tensor } from '../tensor.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

/** Clip's bounds: inputs 1 and 2 (opset 11+; import rewrites the older attributes into inputs). */
export function clipBounds(inputs: readonly (Tensor | undefined)[]): [number, number] {
  return [inputs[1]?.data[0] ?? Number.NEGATIVE_INFINITY, inputs[2]?.data[0] ?? Number.POSITIVE_INFINITY];
}

/**
 * The activation a node computes when the kernels have it built in (Relu, Sigmoid, Clip with constant
 * bounds 0..6, −1..1 or 0..∞), for fusion and for the GPU's activation kernel.
 */
export function builtInActivation(
  n: GraphNode,
  constant: (name: string) => Tensor | undefined,
): Activation | undefined {
  if (n.op === 'Relu') return 'relu';
  if (n.op === 'Sigmoid') return 'sigmoid';
  if (n.op === 'Clip') {
    const bounds = n.inputs.map((i) => (i === '' ? undefined : constant(i)));
    if (n.inputs.slice(1).some((i, k) => i !== '' && !bounds[k + 1])) return undefined;
    const [lo, hi] = clipBounds(bounds);
    if (lo === 0 && hi === 6) return 'relu6';
    if (lo === -1 && hi === 1) return 'htanh';
    if (lo === 0 && hi === Number.POSITIVE_INFINITY) return 'relu';
  }
  return undefined;
}

/** A float32 pointwise op: y = f(x) with the node's parameters. */
function pointwise(
  op: string,
  f: (node: GraphNode, inputs: readonly (Tensor | undefined)[]) => (v: number) => number,
  gpu: OpDef['gpu'],
): OpDef {
  return {
    op,
    infer: (node, inputs) => [{ shape: need(node, inputs, 0).shape, dtype: 'float32' }],
    run(node, inputs) {
      const x = need(node, inputs, 0);
      return [float32(x.shape, asFloat32(x, op).map(f(node, inputs)))];
    },
    ...(gpu ? { gpu } : {}),
  };
}

const builtIn: OpDef['gpu'] = {
  plan: (node, inputs, ctx) =>
    inputs[0]?.dtype === 'float32' && builtInActivation(node, (name) => ctx.constant(name))
      ? { kernel: 'activation' }
      : undefined,
  encode(node, ctx) {
    const x = ctx.input(0);
    const y = ctx.empty(x.shape);
    encodeActivation(ctx.r, x, y, builtInActivation(node, (name) => ctx.constant(name))!);
    return [y];
  },
};

function parametric(kind: ParamActivation, params: (node: GraphNode) => number[]): OpDef['gpu'] {
  return {
    plan: (_node, inputs) => (inputs[0]?.dtype === 'float32' ? { kernel: 'param-activation' } : undefined),
    encode(node, ctx) {
      const x = ctx.input(0);
      const y = ctx.empty(x.shape);
      encodeParamActivation(ctx.r, x, y, kind, ...params(node));
      return [y];
    },
  };
}

const leakyAlpha = (node: GraphNode) => attrNumber(node, 'alpha', 0.01);
const hardSigmoidParams = (node: GraphNode) => [
  attrNumber(node, 'alpha', 0.2),
  attrNumber(node, 'beta', 0.5),
];

export const activationOps: readonly OpDef[] = [
  pointwise('Relu', () => (v) => Math.max(v, 0), builtIn),
  pointwise('Sigmoid', () => (v) => 1 / (1 + Math.exp(-v)), builtIn),
  pointwise(
    'Clip',
    (_node, inputs) => {
      const [lo, hi] = clipBounds(inputs);
      return (v) => Math.min(Math.max(v, lo), hi);
    },
    builtIn,
  ),
  pointwise(
    'LeakyRelu',
    (node) => {
      const alpha = leakyAlpha(node);
      return (v) => (v >= 0 ? v : alpha * v);
    },
    parametric('leakyrelu', (node) => [leakyAlpha(node)]),
  ),
  pointwise(
    'HardSigmoid',
    (node) => {
      const [alpha, beta] = hardSigmoidParams(node) as [number, number];
      return (v) => Math.max(0, Math.min(1, alpha * v + beta));
    },
    parametric('hardsigmoid', hardSigmoidParams),
  ),
  pointwise(
    'HardSwish',
    () => (v) => v * Math.max(0, Math.min(1, v / 6 + 0.5)),
    parametric('hardswish', () => []),
  ),
];
