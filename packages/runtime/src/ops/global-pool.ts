import type { ReduceOp } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import { asFloat32, float32, sizeOf } from '../tensor.js';
import { lpOrder } from './lp-pool.js';
import { encodeReduction, reducibleOnGpu } from './reduction.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

/** [N, C, 1, …]: one value per channel of an [N, C, spatial…] input. */
function pooledShape(node: GraphNode, x: readonly number[]): number[] {
  if (x.length < 3)
    throw new RuntimeError(
      'invalid-input',
      `node '${node.name}' (${node.op}) pools a rank-${x.length} tensor; it takes [N, C, spatial…] of rank 3 or more.`,
    );
  return [x[0]!, x[1]!, ...x.slice(2).map(() => 1)];
}

/**
 * A global pool: `fold` of each channel's values, on the GPU the reduction kernel's `kernel` over
 * the spatial axes where one computes exactly this pool.
 */
function globalPool(
  op: string,
  fold: (node: GraphNode) => (values: Float32Array) => number,
  kernel: (node: GraphNode) => ReduceOp | undefined,
): OpDef {
  return {
    op,
    infer(node, inputs) {
      const x = need(node, inputs, 0);
      return [{ shape: pooledShape(node, x.shape), dtype: x.dtype }];
    },
    run(node, inputs) {
      const x = need(node, inputs, 0);
      const xd = asFloat32(x, `${op} '${node.name}' input`);
      const shape = pooledShape(node, x.shape);
      const plane = sizeOf(x.shape.slice(2));
      const f = fold(node);
      const y = Float32Array.from({ length: sizeOf(shape) }, (_, i) =>
        f(xd.subarray(i * plane, (i + 1) * plane)),
      );
      return [float32(shape, y)];
    },
    gpu: {
      plan: (node, inputs) =>
        reducibleOnGpu(inputs[0]) && inputs[0].shape.length >= 3 && kernel(node)
          ? { kernel: 'reduce' }
          : undefined,
      encode(node, ctx, outputs) {
        const spatial = ctx.inputs[0]!.shape.slice(2).map((_, i) => i + 2);
        return [encodeReduction(ctx, kernel(node)!, spatial, outputs[0]!.shape)];
      },
    },
  };
}

export const globalMaxPool = globalPool(
  'GlobalMaxPool',
  () => (v) => v.reduce((m, x) => (x > m || Number.isNaN(x) ? x : m), Number.NEGATIVE_INFINITY),
  () => 'max',
);

/** (Σ |x|^p)^(1/p) per channel; the reduction kernel's l1 and l2 are the orders 1 and 2. */
export const globalLpPool = globalPool(
  'GlobalLpPool',
  (node) => {
    const p = lpOrder(node);
    return (v) => v.reduce((s, x) => s + Math.abs(x) ** p, 0) ** (1 / p);
  },
  (node) => {
    const p = lpOrder(node);
    return p === 1 ? 'l1' : p === 2 ? 'l2' : undefined;
  },
);
