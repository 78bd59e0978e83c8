import { encodeConcatInto } from '@zeroskip/gpu';
import { attrNumber } from '../graph.js';
import { normAxis } from '../shapes.js';
import { sizeOf, type Tensor, tensor } from '../tensor.js';
import type { OpDef } from './types.js';

export const concat: OpDef = {
  op: 'Concat',
  infer(node, inputs) {
    const parts = inputs.filter((v) => v !== undefined);
    const first = parts[0]!;
    const axis = normAxis(attrNumber(node, 'axis', 0), first.shape.length, node);
    const total = parts.reduce((s, p) => s + p.shape[axis]!, 0);
    return [{ shape: first.shape.map((d, i) => (i === axis ? total : d)), dtype: first.dtype }];
  },
  run(node, inputs) {
    const parts = inputs.filter((t): t is Tensor => t !== undefined);
    const first = parts[0]!;
    const axis = normAxis(attrNumber(node, 'axis', 0), first.shape.length, node);
    const outer = sizeOf(first.shape.slice(0, axis));
    const total = parts.reduce((s, t) => s + t.shape[axis]!, 0);
    const shape = first.shape.map((d, i) => (i === axis ? total : d));
    const data = new (first.data.constructor as Float32ArrayConstructor)(sizeOf(shape));
    const rowOut = sizeOf(shape.slice(axis));
    let at = 0;
    for (const t of parts) {
      const chunk = sizeOf(t.shape.slice(axis));
      for (let o = 0; o < outer; o++)
        data.set(t.data.subarray(o * chunk, (o + 1) * chunk) as Float32Array, o * rowOut + at);
      at += chunk;
    }
    return [tensor(first.dtype, shape, data)];
  },
  gpu: {
    plan: (_node, inputs) => (inputs.every((v) => v?.dtype === 'float32') ? { kernel: 'concat' } : undefined),
    encode(node, ctx, outputs) {
      const y = ctx.empty(outputs[0]!.shape);
      const axis = normAxis(attrNumber(node, 'axis', 0), y.shape.length, node);
      let offset = 0;
      for (let i = 0; i < node.inputs.length; i++) {
        const p = ctx.input(i);
        encodeConcatInto(ctx.r, p, y, axis, offset);
        offset += p.shape[axis]!;
      }
      return [y];
    },
  },
};
