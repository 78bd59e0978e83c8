import { expectDtype } from './cast.js';
import { broadcastShapes, mapBroadcast } from './expand.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

const NUMBERS = ['float32', 'int64'] as const;

/**
 * Pow(X, Y) with broadcasting, in X's dtype: a float or integer exponent on a float base, and on an
 * integer base the real power truncated toward zero (ONNX Runtime's cast of pow's result), so 2^−1 is 0.
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
};
