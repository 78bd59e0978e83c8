import { encodeGlobalAvgPool } from '@zeroskip/gpu';
import { attrNumber, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { asFloat32, float32, sizeOf, type Tensor } from '../tensor.js';
import type { OpDef, ValueInfo } from './types.js';
import { known, need, strides } from './util.js';

function axesOf(
  node: GraphNode,
  rank: number,
  inputs: readonly (Tensor | ValueInfo | undefined)[],
): Set<number> {
  const axes = inputs[1] ? known(node, inputs, 1, 'axes') : Array.from({ length: rank }, (_, i) => i);
  return new Set(axes.map((a) => normAxis(a, rank, node)));
}

function outShape(node: GraphNode, shape: readonly number[], axes: Set<number>): number[] {
  return attrNumber(node, 'keepdims', 1) === 1
    ? shape.map((d, i) => (axes.has(i) ? 1 : d))
    : shape.filter((_, i) => !axes.has(i));
}

export const reduceMean: OpDef = {
  op: 'ReduceMean',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    return [{ shape: outShape(node, x.shape, axesOf(node, x.shape.length, inputs)), dtype: 'float32' }];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const rank = x.shape.length;
    const axes = axesOf(node, rank, inputs);
    const kept = x.shape.map((d, i) => (axes.has(i) ? 1 : d));
    const y = new Float32Array(sizeOf(kept));
    const sx = strides(x.shape);
    const sk = strides(kept);
    const xd = asFloat32(x, 'ReduceMean input');
    for (let e = 0; e < xd.length; e++) {
      let o = 0;
      for (let d = 0; d < rank; d++) if (!axes.has(d)) o += (Math.floor(e / sx[d]!) % x.shape[d]!) * sk[d]!;
      y[o]! += xd[e]!;
    }
    const count = xd.length / Math.max(y.length, 1);
    return [
      float32(
        outShape(node, x.shape, axes),
        y.map((v) => v / count),
      ),
    ];
  },
  gpu: {
    // the spatial mean of NCHW (what CNN exports use) is a global average pool
    plan(node, inputs) {
      const x = inputs[0];
      if (x?.dtype !== 'float32' || x.shape.length !== 4 || (inputs[1] && !inputs[1].value)) return undefined;
      return [...axesOf(node, 4, inputs)].sort().join() === '2,3' ? { kernel: 'global-avg-pool' } : undefined;
    },
    encode(_node, ctx, outputs) {
      const x = ctx.input(0);
      const y = ctx.empty(outputs[0]!.shape);
      encodeGlobalAvgPool(ctx.r, x, { ...y, shape: x.shape.slice(0, 2) });
      return [y];
    },
  },
};
