import { binaryReference, encodeMatmul, MAX_MATMUL_BATCH_DIMS } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { asFloat32, float32, sizeOf } from '../tensor.js';
import { fcGpu } from './fc.js';
import type { GpuOp, OpDef } from './types.js';
import { need } from './util.js';

/** out[m, n] += alpha·Σ A[m, k]·B[k, n] with strides, so transposes cost nothing. */
export function matmulInto(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  aT: boolean,
  bT: boolean,
  out: Float32Array,
  outOffset = 0,
  alpha = 1,
): void {
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = alpha * a[aT ? p * m + i : i * k + p]!;
      if (av === 0) continue;
      const o = outOffset + i * n;
      if (bT) for (let j = 0; j < n; j++) out[o + j]! += av * b[j * k + p]!;
      else {
        const r = p * n;
        for (let j = 0; j < n; j++) out[o + j]! += av * b[r + j]!;
      }
    }
  }
}

/** numpy matmul shapes: rank-1 operands are promoted and their unit axis dropped again; batch axes broadcast. */
function matmulShapes(node: { name: string }, a: readonly number[], b: readonly number[]) {
  const as = a.length === 1 ? [1, a[0]!] : a;
  const bs = b.length === 1 ? [b[0]!, 1] : b;
  const [m, k] = as.slice(-2) as [number, number];
  const [k2, n] = bs.slice(-2) as [number, number];
  if (k !== k2)
    throw new RuntimeError('invalid-input', `MatMul '${node.name}': [${a}] and [${b}] do not multiply.`);
  const batchA = as.slice(0, -2);
  const batchB = bs.slice(0, -2);
  // batch indices of A and B per output batch, by broadcasting maps of matrix numbers
  const iota = (s: number[]) => Float64Array.from({ length: sizeOf(s) }, (_, i) => i);
  const zeros = (s: number[]) => new Float64Array(sizeOf(s));
  const ia = binaryReference(iota(batchA), batchA, zeros(batchB), batchB, (x) => x, 'float64');
  const ib = binaryReference(zeros(batchA), batchA, iota(batchB), batchB, (_x, y) => y, 'float64');
  const shape = [...ia.shape, ...(a.length === 1 ? [] : [m]), ...(b.length === 1 ? [] : [n])];
  return { m, k, n, ia: ia.data, ib: ib.data, shape };
}

/**
 * Both operands computed (activations × activations, batched, broadcast) on the GPU matmul kernel. A
 * 2-D input times a constant 2-D weight is an FC layer, with sparse and dense kernels of its own.
 */
const batchedGpu: GpuOp = {
  plan(_node, inputs) {
    const [a, b] = inputs;
    if (a?.dtype !== 'float32' || b?.dtype !== 'float32' || a.shape.length === 0 || b.shape.length === 0)
      return undefined;
    const batchDims = Math.max(a.shape.length, b.shape.length) - 2;
    return batchDims <= MAX_MATMUL_BATCH_DIMS ? { kernel: 'matmul' } : undefined;
  },
  encode(_node, ctx, outputs) {
    const y = ctx.empty(outputs[0]!.shape);
    encodeMatmul(ctx.r, ctx.input(0), ctx.input(1), y);
    return [y];
  },
};

export const matMul: OpDef = {
  op: 'MatMul',
  infer(node, inputs) {
    return [
      {
        shape: matmulShapes(node, need(node, inputs, 0).shape, need(node, inputs, 1).shape).shape,
        dtype: 'float32',
      },
    ];
  },
  run(node, inputs) {
    const a = need(node, inputs, 0);
    const b = need(node, inputs, 1);
    const { m, k, n, ia, ib, shape } = matmulShapes(node, a.shape, b.shape);
    const y = new Float32Array(ia.length * m * n);
    const ad = asFloat32(a, 'MatMul A');
    const bd = asFloat32(b, 'MatMul B');
    for (let t = 0; t < ia.length; t++)
      matmulInto(
        ad.subarray(ia[t]! * m * k),
        bd.subarray(ib[t]! * k * n),
        m,
        k,
        n,
        false,
        false,
        y,
        t * m * n,
      );
    return [float32(shape, y)];
  },
  gpu: {
    plan: (node, inputs, ctx) => fcGpu.plan(node, inputs, ctx) ?? batchedGpu.plan(node, inputs, ctx),
    encode: (node, ctx, outputs) => (ctx.kernel === 'matmul' ? batchedGpu : fcGpu).encode(node, ctx, outputs),
  },
};
