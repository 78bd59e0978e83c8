import { chooseFcAlgorithm, FcLayer, type LowBitRows, lowBitRows } from '@zeroskip/gpu';
import { type CsrMatrix, transposeCsr } from '@zeroskip/sparse';
import { attrNumber, type GraphNode } from '../graph.js';
import type { Tensor } from '../tensor.js';
import { storedCsr } from '../weight-encoding.js';
import { fusedActivation, sparsityOf } from './conv.js';
import { lowBitPlanesOf } from './low-bit-weights.js';
import type { GpuOp, PlanContext } from './types.js';

// Gemm and MatMul with a constant 2-D weight are fully connected layers: dense or sparse FC kernels.

export const FC_CANDIDATES = ['fc-dense', 'fc-sparse'] as const;
/** The kernel of FC layers whose weights are ±α or {−α, 0, α} per output: a candidate only for them. */
const LOWBIT_KERNEL = 'fc-lowbit';

export interface FcWeights {
  /** [outputs, k] row-major, alpha applied: the constant's own data where that is already its layout. */
  readonly w: Float32Array;
  readonly outputs: number;
  readonly bias?: Float32Array;
  /** Share of zeros in `w`, where it is known without counting. */
  readonly sparsity?: number;
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

/** `data`·`factor`; `data` itself where the factor is 1 (the layers only read their weights). */
function scaled(data: Float32Array, factor: number): Float32Array {
  if (factor === 1) return data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! * factor;
  return out;
}

/** Side of the square blocks the transpose moves: rows of both matrices stay in cache meanwhile. */
const TRANSPOSE_BLOCK = 64;

/** `factor`·Bᵀ [cols, rows] of a row-major B [rows, cols], block by block. */
function transposeScaled(b: Float32Array, rows: number, cols: number, factor: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r0 = 0; r0 < rows; r0 += TRANSPOSE_BLOCK) {
    const r1 = Math.min(rows, r0 + TRANSPOSE_BLOCK);
    for (let c0 = 0; c0 < cols; c0 += TRANSPOSE_BLOCK) {
      const c1 = Math.min(cols, c0 + TRANSPOSE_BLOCK);
      for (let c = c0; c < c1; c++)
        for (let r = r0, at = c * rows + r0; r < r1; r++, at++) out[at] = factor * b[r * cols + c]!;
    }
  }
  return out;
}

/** Gemm's C·beta, the layer's bias. */
function fcBias(n: GraphNode, c: Tensor | undefined): Float32Array | undefined {
  return c && scaled(c.data as Float32Array, attrNumber(n, 'beta', 1));
}

/** The node's weights in the FC kernels' layout (made when its layer is built, not when planning). */
export function fcWeights(n: GraphNode, ctx: Pick<PlanContext, 'constant'>): FcWeights {
  const { b, c, k, outputs, transB } = fcShape(n, ctx)!;
  const data = b.data as Float32Array;
  const alpha = n.op === 'Gemm' ? attrNumber(n, 'alpha', 1) : 1;
  const w = transB ? scaled(data, alpha) : transposeScaled(data, k, outputs, alpha);
  const bias = fcBias(n, c);
  return {
    w,
    outputs,
    ...(bias ? { bias } : {}),
    // the zeros counted when planning are the layer's unless scaling could have flushed products to 0
    ...(alpha === 1 ? { sparsity: sparsityOf(b) } : {}),
  };
}

/**
 * The node's weights as CSR [outputs, k], from the CSR they were decoded from; undefined where there is
 * none, or where alpha ≠ 1 could flush scaled weights to zero (the dense path then decides).
 */
function fcCsr(n: GraphNode, ctx: Pick<PlanContext, 'constant'>): CsrMatrix | undefined {
  const { b, transB } = fcShape(n, ctx)!;
  const csr = storedCsr(b);
  if (!csr || (n.op === 'Gemm' && attrNumber(n, 'alpha', 1) !== 1)) return undefined;
  return transB ? csr : transposeCsr(csr);
}

/**
 * The node's weights as bit planes [outputs, k] with Gemm's alpha in α, where they are ±α or {−α, 0, α}
 * per output; undefined otherwise, and for weights decoded from a sparse payload, which run from it.
 */
function fcLowBit(n: GraphNode, ctx: Pick<PlanContext, 'constant'>): LowBitRows | undefined {
  const { b, outputs, transB } = fcShape(n, ctx)!;
  if (storedCsr(b)) return undefined;
  const scale = n.op === 'Gemm' ? attrNumber(n, 'alpha', 1) : 1;
  return lowBitPlanesOf(b, `${transB} ${scale}`, () =>
    lowBitRows(b.data as Float32Array, outputs, { transposed: !transB, scale }),
  );
}

/** The GPU side shared by Gemm and MatMul: an FC layer on a [batch, k] input. */
export const fcGpu: GpuOp = {
  plan(node, inputs, ctx) {
    const x = inputs[0];
    if (x?.dtype !== 'float32' || x.shape.length !== 2 || !fcShape(node, ctx)) return undefined;
    const w: Tensor = ctx.constant(node.inputs[1]!)!;
    const sparsity = sparsityOf(w);
    const bits = fcLowBit(node, ctx);
    const lowBit = bits && { weights: bits.weights, count: w.data.length };
    const kernel =
      ctx.mode === 'auto' ? `fc-${chooseFcAlgorithm(sparsity, x.shape[0], lowBit)}` : `fc-${ctx.mode}`;
    return { kernel, sparsity, candidates: bits ? [...FC_CANDIDATES, LOWBIT_KERNEL] : FC_CANDIDATES };
  },
  encode(node, ctx) {
    const layer = ctx.planned(() => {
      const kernel = ctx.kernel;
      return ctx.cached(kernel, () => {
        const common = {
          activation: fusedActivation(node),
          algorithm: kernel === 'fc-sparse' ? 'sparse' : kernel === LOWBIT_KERNEL ? 'lowbit' : 'dense',
        } as const;
        const csr = kernel === 'fc-sparse' ? fcCsr(node, ctx) : undefined;
        const lowBit = kernel === LOWBIT_KERNEL ? fcLowBit(node, ctx) : undefined;
        if (csr) {
          const bias = fcBias(node, fcShape(node, ctx)!.c);
          return new FcLayer(ctx.gpu, { csr, outputs: csr.rows, ...(bias ? { bias } : {}), ...common });
        }
        const fw = fcWeights(node, ctx);
        return new FcLayer(ctx.gpu, {
          weights: fw.w,
          outputs: fw.outputs,
          ...(fw.bias ? { bias: fw.bias } : {}),
          ...(lowBit ? { lowBit } : {}),
          ...common,
          ...(fw.sparsity === undefined ? {} : { sparsity: fw.sparsity }),
        });
      });
    });
    return [layer.encode(ctx.r, ctx.input(0))];
  },
};
