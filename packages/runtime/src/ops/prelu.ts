import { type BinaryOp, encodeBinary, type GpuTensor } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import type { Tensor } from '../tensor.js';
import { expectDtype } from './cast.js';
import { broadcastShapes, mapBroadcast } from './expand.js';
import type { OpDef, ValueInfo } from './types.js';
import { gpuScalar } from './unary-math.js';
import { need } from './util.js';

/**
 * PRelu on the GPU as max(x, 0) + slope·min(x, 0), exact in float32 for finite slopes: x ≥ 0 gives x + slope·0,
 * x < 0 gives 0 + slope·x. Each step: [output, a, b, a ∘ b].
 */
const GPU_STEPS = [
  ['pos', 'x', 'zero', 'max'],
  ['neg', 'x', 'zero', 'min'],
  ['scaled', 'slope', 'neg', 'mul'],
  ['y', 'pos', 'scaled', 'add'],
] as const satisfies readonly (readonly [string, string, string, BinaryOp])[];

/** X and the slope, which must broadcast to X's shape (unidirectionally: the output is X's shape). */
function operands<T extends Tensor | ValueInfo>(node: GraphNode, inputs: readonly (T | undefined)[]): [T, T] {
  const x = need(node, inputs, 0);
  const slope = need(node, inputs, 1);
  expectDtype(node, x.dtype, ['float32', 'int64']);
  const shape = broadcastShapes(node, [x.shape, slope.shape]);
  if (slope.dtype !== x.dtype || shape.length !== x.shape.length || shape.some((d, i) => d !== x.shape[i]))
    throw new RuntimeError(
      'invalid-input',
      `PRelu '${node.name}' has a ${slope.dtype} slope of shape [${slope.shape.join(', ')}] for ${x.dtype} X of shape [${x.shape.join(', ')}]; the slope must have X's dtype and broadcast to X's shape.`,
    );
  return [x, slope];
}

export const prelu: OpDef = {
  op: 'PRelu',
  infer(node, inputs) {
    const [x] = operands(node, inputs);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  run(node, inputs) {
    const [x, slope] = operands(node, inputs);
    return [mapBroadcast(node, [x, slope], x.dtype, ([v, s]) => (v! < 0 ? s! * v! : v!))];
  },
  gpu: {
    plan: (_node, inputs) =>
      inputs[0]?.dtype === 'float32' && inputs[1]?.dtype === 'float32'
        ? { kernel: GPU_STEPS.map(([, , , op]) => `binary-${op}`).join('+') }
        : undefined,
    encode(_node, ctx, outputs) {
      const x = ctx.input(0);
      const t: Record<string, GpuTensor> = { x, slope: ctx.input(1), zero: gpuScalar(ctx, 0) };
      for (const [out, a, b, op] of GPU_STEPS) {
        t[out] = out === 'y' ? ctx.empty(outputs[0]!.shape) : ctx.gpu.empty(x.shape);
        encodeBinary(ctx.r, t[a]!, t[b]!, t[out]!, op);
      }
      for (const [out] of GPU_STEPS) if (out !== 'y') ctx.gpu.release(t[out]!);
      return [t.y!];
    },
  },
};
