import { encodeAxisGather } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { numbers, sizeOf, type Tensor, tensor } from '../tensor.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

/** Gather's indices made non-negative, checked against the axis size. */
function indicesOf(node: GraphNode, idx: Tensor, dim: number): number[] {
  return numbers(idx).map((i) => {
    const j = i < 0 ? i + dim : i;
    if (!(j >= 0 && j < dim))
      throw new RuntimeError(
        'invalid-input',
        `Gather '${node.name}' index ${i} is out of range for size ${dim}.`,
      );
    return j;
  });
}

export const gather: OpDef = {
  op: 'Gather',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    const axis = normAxis(attrNumber(node, 'axis', 0), x.shape.length, node);
    const shape = [...x.shape.slice(0, axis), ...need(node, inputs, 1).shape, ...x.shape.slice(axis + 1)];
    return [{ shape, dtype: x.dtype }];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const idx = need(node, inputs, 1);
    const axis = normAxis(attrNumber(node, 'axis', 0), x.shape.length, node);
    const dim = x.shape[axis]!;
    const outer = sizeOf(x.shape.slice(0, axis));
    const inner = sizeOf(x.shape.slice(axis + 1));
    const ids = indicesOf(node, idx, dim);
    const data = new (x.data.constructor as Float32ArrayConstructor)(outer * ids.length * inner);
    for (let o = 0; o < outer; o++)
      for (const [k, j] of ids.entries())
        data.set(
          x.data.subarray((o * dim + j) * inner, (o * dim + j + 1) * inner) as Float32Array,
          (o * ids.length + k) * inner,
        );
    return [tensor(x.dtype, [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)], data)];
  },
  gpu: {
    // constant indices become the gather kernel's index list
    plan: (_node, inputs) =>
      inputs[0]?.dtype === 'float32' && inputs[1]?.value ? { kernel: 'gather' } : undefined,
    encode(node, ctx, outputs) {
      const x = ctx.input(0);
      const axis = normAxis(attrNumber(node, 'axis', 0), x.shape.length, node);
      const indices = indicesOf(node, ctx.host(1)!, x.shape[axis]!);
      const y = ctx.empty(outputs[0]!.shape);
      const flat = [...x.shape.slice(0, axis), indices.length, ...x.shape.slice(axis + 1)];
      encodeAxisGather(ctx.r, x, { ...y, shape: flat }, axis, { indices });
      return [y];
    },
  },
};
