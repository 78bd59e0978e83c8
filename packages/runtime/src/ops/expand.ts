import { encodeAxisGather, type GpuTensor, strides } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import { type DType, sizeOf, type Tensor, tensor } from '../tensor.js';
import { storage } from './cast.js';
import type { EncodeContext, OpDef } from './types.js';
import { known, need } from './util.js';

/** The shape of ONNX multidirectional (numpy) broadcasting of every shape, or an error naming them. */
export function broadcastShapes(node: GraphNode, shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  return Array.from({ length: rank }, (_, i) => {
    let out = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === out || d === 1) continue;
      if (out !== 1)
        throw new RuntimeError(
          'invalid-input',
          `node '${node.name}' (${node.op}) cannot broadcast shapes ${shapes.map((v) => `[${v.join(', ')}]`).join(', ')}: each dimension must match or be 1.`,
        );
      out = d;
    }
    return out;
  });
}

/** For each element of `out` (row-major), the flat index of the element of a `shape` tensor broadcast to it. */
export function broadcastIndex(shape: readonly number[], out: readonly number[]): Uint32Array {
  const rank = out.length;
  const padded = [...Array<number>(rank - shape.length).fill(1), ...shape];
  const step = strides(padded).map((s, d) => (padded[d] === 1 ? 0 : s));
  const index = new Uint32Array(sizeOf(out));
  const pos = out.map(() => 0);
  let at = 0;
  for (let e = 0; e < index.length; e++) {
    index[e] = at;
    // odometer: advance the last axis, carrying into earlier ones
    for (let d = rank - 1; d >= 0; d--) {
      at += step[d]!;
      if (++pos[d]! < out[d]!) break;
      at -= step[d]! * out[d]!;
      pos[d] = 0;
    }
  }
  return index;
}

/** y = f(x₀, x₁, …) elementwise with multidirectional broadcasting, into a `dtype` tensor. */
export function mapBroadcast(
  node: GraphNode,
  inputs: readonly Tensor[],
  dtype: DType,
  f: (values: readonly number[]) => number,
): Tensor {
  const shape = broadcastShapes(
    node,
    inputs.map((t) => t.shape),
  );
  const index = inputs.map((t) => broadcastIndex(t.shape, shape));
  const y = storage(dtype, sizeOf(shape));
  const values = inputs.map(() => 0);
  for (let e = 0; e < y.length; e++) {
    for (let k = 0; k < inputs.length; k++) values[k] = inputs[k]!.data[index[k]![e]!]!;
    y[e] = f(values);
  }
  return tensor(dtype, shape, y);
}

/** `x`'s elements gathered by a flat index per output element, into a tensor of `shape`. */
export function gatherFlat(x: Tensor, shape: readonly number[], index: Uint32Array): Tensor {
  const y = storage(x.dtype, index.length);
  for (let e = 0; e < y.length; e++) y[e] = x.data[index[e]!]!;
  return tensor(x.dtype, shape, y);
}

/**
 * `x` tiled `counts[a]` times along each axis a (a unit axis so is broadcast). Per axis, the block
 * x[i₀…iₐ₋₁, …] is copied by an axis gather whose index never advances, [outer, 1, rest] →
 * [outer, count, rest]; intermediates go back to the pool once the next copy is recorded.
 */
export function encodeTile(ctx: EncodeContext, x: GpuTensor, counts: readonly number[]): GpuTensor {
  let cur = x;
  counts.forEach((count, a) => {
    if (count === 1) return;
    const outer = sizeOf(cur.shape.slice(0, a));
    const rest = cur.size / outer;
    const y = ctx.gpu.empty([outer, count, rest]);
    encodeAxisGather(ctx.r, { ...cur, shape: [outer, 1, rest] }, y, 1, { start: 0, step: 0, count });
    if (cur !== x) ctx.gpu.release(cur);
    cur = { ...y, shape: cur.shape.map((d, i) => (i === a ? d * count : d)) };
  });
  return cur === x ? { ...x } : cur;
}

const target = (node: GraphNode, inputs: Parameters<OpDef['infer']>[1]) => {
  const x = need(node, inputs, 0);
  return broadcastShapes(node, [x.shape, known(node, inputs, 1, 'shape')]);
};

export const expand: OpDef = {
  op: 'Expand',
  infer: (node, inputs) => [{ shape: target(node, inputs), dtype: need(node, inputs, 0).dtype }],
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const shape = target(node, inputs);
    return [gatherFlat(x, shape, broadcastIndex(x.shape, shape))];
  },
  gpu: {
    plan: (node, inputs) =>
      inputs[0]?.dtype === 'float32' && inputs[1]?.value && sizeOf(target(node, inputs)) > 0
        ? { kernel: 'axis-gather' }
        : undefined,
    encode(_node, ctx, outputs) {
      const out = outputs[0]!.shape;
      const x = ctx.input(0);
      // x with leading unit axes up to the output's rank; each unit axis that grows is repeated
      const padded = [...Array<number>(out.length - x.shape.length).fill(1), ...x.shape];
      return [
        encodeTile(
          ctx,
          { ...x, shape: padded },
          out.map((d, a) => (padded[a] === d ? 1 : d)),
        ),
      ];
    },
  },
};
