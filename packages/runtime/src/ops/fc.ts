import { FcLayer, SPARSE_FC_THRESHOLD } from '@zeroskip/gpu';
import { attrNumber, type GraphNode } from '../graph.js';
import type { Tensor } from '../tensor.js';
import { fusedActivation, sparsityOf } from './conv.js';
import type { GpuOp, PlanContext } from './types.js';

// Gemm and MatMul with a constant 2-D weight are fully connected layers: dense or sparse FC kernels.

export const FC_CANDIDATES = ['fc-dense', 'fc-sparse'] as const;

interface FcWeights {
  /** [outputs, k] row-major, alpha applied. */
  readonly w: Float32Array;
  readonly outputs: number;
  readonly bias?: Float32Array;
}

/** The FC layer's shape, or undefined when the node is not an FC layer with constant weights. */
function fcShape(
  n: GraphNode,
  ctx: Pick<PlanContext, 'constant'>,
): { b: Tensor; c?: Tensor; k: number; outputs: number; transB: boolean } | undefined {
  const b = ctx.constant(n.inputs[1]!);
  if (b?.shape.length !== 2 || b.dtype !== 'float32') return undefined;
  if (n.op === 'Gemm' && attrNumber(n, 'transA', 0) !== 0) return undefined;
  const transB = n.op === 'Gemm' && attrNumber(n, 'transB', 0) === 1;
  const [k, outputs] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  const c = n.op === 'Gemm' && n.inputs[2] ? ctx.constant(n.inputs[2]) : undefined;
  // a bias other than one value per output (a full C matrix, or a computed one) is not an FC bias
  if (n.op === 'Gemm' && n.inputs[2] && (c?.dtype !== 'float32' || c.data.length !== outputs))
    return undefined;
  return { b, ...(c ? { c } : {}), k, outputs, transB };
}

/** The node's weights in the FC kernels' layout (made when its layer is built, not when planning). */
function fcWeights(n: GraphNode, ctx: Pick<PlanContext, 'constant'>): FcWeights {
  const { b, c, k, outputs, transB } = fcShape(n, ctx)!;
  const data = b.data as Float32Array;
  const alpha = n.op === 'Gemm' ? attrNumber(n, 'alpha', 1) : 1;
  const w = transB
    ? data.map((v) => v * alpha)
    : Float32Array.from(
        { length: k * outputs },
        (_, i) => alpha * data[(i % k) * outputs + Math.floor(i / k)]!,
      );
  const beta = attrNumber(n, 'beta', 1);
  return { w, outputs, ...(c ? { bias: (c.data as Float32Array).map((v) => v * beta) } : {}) };
}

/** The GPU side shared by Gemm and MatMul: an FC layer on a [batch, k] input. */
export const fcGpu: GpuOp = {
  plan(node, inputs, ctx) {
    const x = inputs[0];
    if (x?.dtype !== 'float32' || x.shape.length !== 2 || !fcShape(node, ctx)) return undefined;
    const w: Tensor = ctx.constant(node.inputs[1]!)!;
    const sparsity = sparsityOf(w);
    const sparse = ctx.mode === 'sparse' || (ctx.mode === 'auto' && sparsity >= SPARSE_FC_THRESHOLD);
    return { kernel: sparse ? 'fc-sparse' : 'fc-dense', sparsity, candidates: FC_CANDIDATES };
  },
  encode(node, ctx) {
    const layer = ctx.planned(() => {
      const kernel = ctx.kernel;
      return ctx.cached(kernel, () => {
        const fw = fcWeights(node, ctx);
        return new FcLayer(ctx.gpu, {
          weights: fw.w,
          outputs: fw.outputs,
          ...(fw.bias ? { bias: fw.bias } : {}),
          activation: fusedActivation(node),
          algorithm: kernel === 'fc-sparse' ? 'sparse' : 'dense',
        });
      });
    });
    return [layer.encode(ctx.r, ctx.input(0))];
  },
};
