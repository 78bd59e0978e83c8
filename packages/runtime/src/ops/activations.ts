import { type Activation, F32_MAX } from '@zeroskip/gpu';
import { attrNumber, type GraphNode } from '../graph.js';
import { asFloat32, float32, type Tensor } from '../tensor.js';
import type { OpDef } from './types.js';
import { type PointwiseStep, type PointwiseSteps, pointwiseGpu, unaryStep } from './unary-math.js';
import { need } from './util.js';

/**
 * Clip's bounds: inputs 1 and 2 (opset 11+; import rewrites the older attributes into inputs). An
 * absent bound is the lowest or largest float32, as ONNX defines it, so infinities are clamped to it.
 */
export function clipBounds(inputs: readonly (Tensor | undefined)[]): [number, number] {
  return [inputs[1]?.data[0] ?? -F32_MAX, inputs[2]?.data[0] ?? F32_MAX];
}

/**
 * The activation a node computes when the kernels have it built in (Relu, Sigmoid, Clip with constant
 * bounds 0..6, −1..1 or 0..+∞), for fusion into the kernel that produces its input.
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

/**
 * Clip with bounds known before running. Kernel parameters hold ±∞ as ±the largest float32, so the clip
 * kernel takes finite bounds only; infinite ones are a max and a min against scalar tensors, which hold
 * them exactly, with a bound that clamps nothing (−∞ below, +∞ above) left out, and with neither a copy.
 */
const clipSteps: PointwiseSteps = (node, inputs) => {
  if (node.inputs.some((name, i) => i > 0 && name !== '' && !inputs[i]?.value)) return undefined;
  const [lo, hi] = clipBounds(inputs.map((i) => i?.value));
  if (Number.isFinite(lo) && Number.isFinite(hi)) return [{ unary: 'clip', params: { min: lo, max: hi } }];
  const steps: PointwiseStep[] = [];
  if (lo !== Number.NEGATIVE_INFINITY) steps.push({ binary: 'max', with: lo });
  if (hi !== Number.POSITIVE_INFINITY) steps.push({ binary: 'min', with: hi });
  return steps.length ? steps : [{ unary: 'identity' }];
};

/** A float32 pointwise op: y = f(x) with the node's parameters, computed on the GPU by `gpu`. */
function pointwise(
  op: string,
  f: (node: GraphNode, inputs: readonly (Tensor | undefined)[]) => (v: number) => number,
  gpu: PointwiseSteps,
): OpDef {
  return {
    op,
    infer: (node, inputs) => [{ shape: need(node, inputs, 0).shape, dtype: 'float32' }],
    run(node, inputs) {
      const x = need(node, inputs, 0);
      return [float32(x.shape, asFloat32(x, op).map(f(node, inputs)))];
    },
    gpu: pointwiseGpu(gpu),
  };
}

const leakyParams = (node: GraphNode) => ({ alpha: attrNumber(node, 'alpha', 0.01) });
const hardSigmoidParams = (node: GraphNode) => ({
  alpha: attrNumber(node, 'alpha', 0.2),
  beta: attrNumber(node, 'beta', 0.5),
});

export const activationOps: readonly OpDef[] = [
  pointwise('Relu', () => (v) => Math.max(v, 0), unaryStep('relu')),
  pointwise('Sigmoid', () => (v) => 1 / (1 + Math.exp(-v)), unaryStep('sigmoid')),
  pointwise(
    'Clip',
    (_node, inputs) => {
      const [lo, hi] = clipBounds(inputs);
      return (v) => Math.min(Math.max(v, lo), hi);
    },
    clipSteps,
  ),
  pointwise(
    'LeakyRelu',
    (node) => {
      const { alpha } = leakyParams(node);
      return (v) => (v >= 0 ? v : alpha * v);
    },
    unaryStep('leakyrelu', leakyParams),
  ),
  pointwise(
    'HardSigmoid',
    (node) => {
      const { alpha, beta } = hardSigmoidParams(node);
      return (v) => Math.max(0, Math.min(1, alpha * v + beta));
    },
    unaryStep('hardsigmoid', hardSigmoidParams),
  ),
  pointwise('HardSwish', () => (v) => v * Math.max(0, Math.min(1, v / 6 + 0.5)), unaryStep('hardswish')),
];
