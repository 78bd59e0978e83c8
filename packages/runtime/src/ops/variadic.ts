import { type BinaryOp, broadcastShape, encodeBinary, type GpuTensor } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import { type DType, NUMERIC_DTYPES, type Tensor } from '../tensor.js';
import { expectDtype } from './cast.js';
import { broadcastShapes, mapBroadcast } from './expand.js';
import type { EncodeContext, GpuOp, OpDef, OutputInfo, ValueInfo } from './types.js';
import { gpuScalar } from './unary-math.js';

/** The present inputs, at least one, all of one dtype the op takes. */
function operands<T extends Tensor | ValueInfo>(
  node: GraphNode,
  inputs: readonly (T | undefined)[],
  dtypes: readonly DType[],
): T[] {
  const xs = inputs.filter((t): t is T => t !== undefined);
  const first = xs[0];
  if (!first)
    throw new RuntimeError(
      'invalid-model',
      `node '${node.name}' (${node.op}) has no inputs; give it at least one.`,
    );
  expectDtype(node, first.dtype, dtypes);
  for (const x of xs)
    if (x.dtype !== first.dtype)
      throw new RuntimeError(
        'invalid-input',
        `node '${node.name}' (${node.op}) mixes ${first.dtype} and ${x.dtype} inputs; cast them to one dtype.`,
      );
  return xs;
}

/** The running ∘ over the GPU inputs, pairwise with broadcasting; intermediates return to the pool once read. */
function encodeChain(
  ctx: EncodeContext,
  xs: readonly GpuTensor[],
  kernel: BinaryOp,
  last: (shape: number[]) => GpuTensor,
): GpuTensor {
  let acc = xs[0]!;
  xs.slice(1).forEach((x, k) => {
    const shape = broadcastShape(acc.shape, x.shape);
    const y = k === xs.length - 2 ? last(shape) : ctx.gpu.empty(shape);
    encodeBinary(ctx.r, acc, x, y, kernel);
    if (k > 0) ctx.gpu.release(acc);
    acc = y;
  });
  return acc;
}

/**
 * An op folding any number of broadcast inputs with `f`; Mean then scales by 1/n. On the GPU, a chain of
 * binary kernels, Mean's final scale a multiply by a constant.
 */
function variadic(
  op: string,
  dtypes: readonly DType[],
  f: (a: number, b: number) => number,
  kernel?: BinaryOp,
  mean = false,
): OpDef {
  const fold = (values: readonly number[]) => {
    let acc = values[0]!;
    for (let k = 1; k < values.length; k++) acc = f(acc, values[k]!);
    return mean ? acc / values.length : acc;
  };
  return {
    op,
    infer(node, inputs) {
      const xs = operands(node, inputs, dtypes);
      return [
        {
          shape: broadcastShapes(
            node,
            xs.map((x) => x.shape),
          ),
          dtype: xs[0]!.dtype,
        },
      ];
    },
    run(node, inputs) {
      const xs = operands<Tensor>(node, inputs, dtypes);
      return [mapBroadcast(node, xs, xs[0]!.dtype, fold)];
    },
    ...(kernel && { gpu: gpuChain(kernel, mean) }),
  };
}

function gpuChain(kernel: BinaryOp, mean: boolean): GpuOp {
  return {
    plan: (_node, inputs) =>
      inputs.every((x) => x === undefined || x.dtype === 'float32')
        ? { kernel: `binary-${kernel}` }
        : undefined,
    encode(node, ctx, outputs: readonly OutputInfo[]) {
      const xs = node.inputs.flatMap((name, i) => (name === '' ? [] : [ctx.input(i)]));
      const out = () => ctx.empty(outputs[0]!.shape);
      if (xs.length === 1) return [{ ...xs[0]! }];
      if (!mean) return [encodeChain(ctx, xs, kernel, out)];
      const sum = encodeChain(ctx, xs, kernel, (shape) => ctx.gpu.empty(shape));
      const y = out();
      encodeBinary(ctx.r, sum, gpuScalar(ctx, 1 / xs.length), y, 'mul');
      ctx.gpu.release(sum);
      return [y];
    },
  };
}

export const variadicOps: readonly OpDef[] = [
  // Math.max and min, like the kernels, propagate NaN, as ONNX Runtime does
  variadic('Max', NUMERIC_DTYPES, Math.max, 'max'),
  variadic('Min', NUMERIC_DTYPES, Math.min, 'min'),
  variadic('Sum', ['float32', 'int64'], (a, b) => a + b, 'add'),
  variadic('Mean', ['float32'], (a, b) => a + b, 'add', true),
];
