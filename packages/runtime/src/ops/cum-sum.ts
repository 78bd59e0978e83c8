import { RuntimeError } from '../errors.js';
import { attrNumber } from '../graph.js';
import { normAxis } from '../shapes.js';
import { sizeOf, tensor } from '../tensor.js';
import { storage } from './cast.js';
import type { OpDef } from './types.js';
import { known, need } from './util.js';

/** CumSum: running sums along an axis (input 1), inclusive or exclusive, forward or reversed. */
export const cumSum: OpDef = {
  op: 'CumSum',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    if (x.dtype !== 'float32' && x.dtype !== 'int64')
      throw new RuntimeError(
        'unsupported-op',
        `CumSum '${node.name}' sums a ${x.dtype} tensor; only float32 and int64 are supported.`,
      );
    const a = known(node, inputs, 1, 'axis');
    if (a.length !== 1)
      throw new RuntimeError(
        'invalid-input',
        `CumSum '${node.name}' needs one axis, got ${a.length} values.`,
      );
    const axis = normAxis(a[0]!, x.shape.length, node);
    const exclusive = attrNumber(node, 'exclusive', 0) === 1;
    const reverse = attrNumber(node, 'reverse', 0) === 1;
    const len = x.shape[axis]!;
    const inner = sizeOf(x.shape.slice(axis + 1));
    const y = storage(x.dtype, x.data.length);
    // summed in the output's type, as ONNX Runtime does
    const round = x.dtype === 'float32' ? Math.fround : (v: number) => v;
    const lanes = sizeOf(x.shape.filter((_, i) => i !== axis));
    for (let lane = 0; lane < lanes; lane++) {
      const base = Math.floor(lane / inner) * len * inner + (lane % inner);
      let sum = 0;
      for (let s = 0; s < len; s++) {
        const at = base + (reverse ? len - 1 - s : s) * inner;
        const next = round(sum + x.data[at]!);
        y[at] = exclusive ? sum : next;
        sum = next;
      }
    }
    return [tensor(x.dtype, x.shape, y)];
  },
};
