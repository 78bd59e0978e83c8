import { encodeBinary } from '@zeroskip/gpu';
import { expectDtype } from './cast.js';
import { broadcastShapes, mapBroadcast } from './expand.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

const NUMBERS = ['float32', 'int64'] as const;

/**
 * Pow(X, Y) with broadcasting, in X's dtype: a float or integer exponent on a float base, and on an
 * integer base the real power truncated toward zero (ONNX Runtime's cast of pow's result), so 2^−1 is 0.
 * The GPU computes float32 powers of float32 bases (an int64 exponent beyond 2²⁴ would lose its parity
 * in float32, so those stay on the CPU).
 */
export const pow: OpDef = {
  op: 'Pow',
  infer(node, inputs) {
    const [x, y] = [need(node, inputs, 0), need(node, inputs, 1)];
    for (const t of [x, y]) expectDtype(node, t.dtype, NUMBERS);
    return [{ shape: broadcastShapes(node, [x.shape, y.shape]), dtype: x.dtype }];
  },
  run(node, inputs) {
    const [x, y] = [need(node, inputs, 0), need(node, inputs, 1)];
    for (const t of [x, y]) expectDtype(node, t.dtype, NUMBERS);
    const f =
      x.dtype === 'int64'
        ? ([a, b]: readonly number[]) => Math.trunc(a! ** b!) + 0
        : ([a, b]: readonly number[]) => a! ** b!;
    return [mapBroadcast(node, [x, y], x.dtype, f)];
  },
  gpu: {
    plan: (_node, inputs) =>
      inputs[0]?.dtype === 'float32' && inputs[1]?.dtype === 'float32' ? { kernel: 'binary-pow' } : undefined,
    encode(_node, ctx, outputs) {
      const y = ctx.empty(outputs[0]!.shape);
      encodeBinary(ctx.r, ctx.input(0), ctx.input(1), y, 'pow');
      return [y];
    },
  },
};
