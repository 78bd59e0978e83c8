import { roundHalfEven } from '@zeroskip/quant';
import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import { type DType, sizeOf, type Tensor, tensor } from '../tensor.js';
import { storage } from './cast.js';
import { geometry } from './conv.js';
import { channelOf, isQuantDType, type QuantDType, type QuantLayout, saturate } from './quantize-linear.js';
import type { OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

// ONNX's integer convolution and matrix product: ConvInteger and MatMulInteger (int32 accumulators,
// held as int64 as the importer holds int32) and QLinearConv and QLinearMatMul, which requantize the
// accumulator as ONNX Runtime does: f32(acc + bias)·f32(f32(s_x·s_w)/s_y), rounded half to even,
// saturated, plus the output zero point. Accumulation is exact, so results are bit-exact with it.

function invalid(node: GraphNode, message: string): never {
  throw new RuntimeError('invalid-model', `node '${node.name}' (${node.op}) ${message}`);
}

/** Checks that input i is int8 or uint8 and returns its type. */
function quantized(node: GraphNode, inputs: readonly (ValueInfo | undefined)[], i: number): QuantDType {
  const d = need(node, inputs, i).dtype;
  if (!isQuantDType(d))
    throw new RuntimeError(
      'invalid-input',
      `node '${node.name}' (${node.op}) takes int8 or uint8 at input ${i}, got ${d}; quantize it first.`,
    );
  return d;
}

/**
 * Input i's values when present (a zero point or scale): `count` of them, or one for all, which must
 * be of `dtype` when given. Absent zero points are 0.
 */
function perChannel(
  node: GraphNode,
  inputs: readonly (Tensor | undefined)[],
  i: number,
  count: number,
  dtype?: DType,
): (c: number) => number {
  const t = node.inputs[i] ? inputs[i] : undefined;
  if (!t) return () => 0;
  if (dtype && t.dtype !== dtype)
    invalid(node, `has a ${t.dtype} input ${i} for ${dtype} data; give the zero point its data's type.`);
  const n = sizeOf(t.shape);
  if (t.shape.length > 1 || (n !== 1 && n !== count))
    invalid(
      node,
      `has input ${i} of shape [${t.shape.join(', ')}]; give one value, or ${count} (one per channel).`,
    );
  const d = t.data;
  return n === 1 ? () => d[0]! : (c) => d[c]!;
}

/** Integer accumulators of x (input 0) ⊛ w (input `wAt`) with their zero points subtracted; padding adds 0. */
function integerConv(
  node: GraphNode,
  inputs: readonly (Tensor | undefined)[],
  wAt: number,
  xZeroAt: number,
  wZeroAt: number,
) {
  quantized(node, inputs, 0);
  quantized(node, inputs, wAt);
  const x = need(node, inputs, 0);
  const w = need(node, inputs, wAt);
  const { geo, shape } = geometry(node, x.shape, w.shape);
  const zx = perChannel(node, inputs, xZeroAt, 1, x.dtype)(0);
  const zw = perChannel(node, inputs, wZeroAt, geo.o, w.dtype);
  const acc = new Float64Array(sizeOf(shape));
  const [xd, wd] = [x.data, w.data];
  let at = 0;
  for (let n = 0; n < geo.n; n++)
    for (let o = 0; o < geo.o; o++) {
      const c0 = Math.floor(o / geo.og) * geo.cg;
      const z = zw(o);
      for (let oy = 0; oy < geo.ho; oy++)
        for (let ox = 0; ox < geo.wo; ox++) {
          let sum = 0;
          for (let c = 0; c < geo.cg; c++)
            for (let ky = 0; ky < geo.kh; ky++) {
              const iy = oy * geo.sh - geo.pt + ky * geo.dh;
              if (iy < 0 || iy >= geo.h) continue;
              for (let kx = 0; kx < geo.kw; kx++) {
                const ix = ox * geo.sw - geo.pl + kx * geo.dw;
                if (ix < 0 || ix >= geo.w) continue;
                const xv = xd[((n * geo.c + c0 + c) * geo.h + iy) * geo.w + ix]! - zx;
                sum += xv * (wd[((o * geo.cg + c) * geo.kh + ky) * geo.kw + kx]! - z);
              }
            }
          acc[at++] = sum;
        }
    }
  return { acc, shape, channels: geo.o, inner: sizeOf(shape.slice(2)) };
}

/** Integer accumulators of a (input 0, [..., M, K]) × b (input `bAt`, [K, N]), zero points subtracted. */
function integerMatmul(
  node: GraphNode,
  inputs: readonly (Tensor | undefined)[],
  bAt: number,
  aZeroAt: number,
  bZeroAt: number,
) {
  quantized(node, inputs, 0);
  quantized(node, inputs, bAt);
  const a = need(node, inputs, 0);
  const b = need(node, inputs, bAt);
  if (a.shape.length < 2 || b.shape.length !== 2 || a.shape[a.shape.length - 1] !== b.shape[0])
    throw new RuntimeError(
      'unsupported-op',
      `node '${node.name}' (${node.op}) multiplies [${a.shape.join(', ')}] by [${b.shape.join(', ')}]; only [..., M, K] × [K, N] products are supported.`,
    );
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[1]!;
  const za = perChannel(node, inputs, aZeroAt, m, a.dtype);
  const zb = perChannel(node, inputs, bZeroAt, n, b.dtype);
  const rows = sizeOf(a.shape) / k;
  const acc = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const z = za(r % m);
    for (let p = 0; p < k; p++) {
      const av = a.data[r * k + p]! - z;
      if (av === 0) continue;
      for (let j = 0; j < n; j++) acc[r * n + j]! += av * (b.data[p * n + j]! - zb(j));
    }
  }
  return { acc, shape: [...a.shape.slice(0, -1), n], channels: n, inner: 1 };
}

/** The accumulators, with their output channels (per-channel scales index them) as a {@link QuantLayout}. */
interface Accumulators extends QuantLayout {
  readonly acc: Float64Array;
  readonly shape: number[];
}

/** QLinearConv's and QLinearMatMul's output type: their output zero point's (input 7), int8 or uint8. */
function outputType(node: GraphNode, inputs: readonly (ValueInfo | undefined)[]): QuantDType {
  const dtype = need(node, inputs, 7).dtype;
  if (!isQuantDType(dtype)) invalid(node, `has a ${dtype} output zero point; use int8 or uint8.`);
  return dtype;
}

/** Int32 accumulators as the op's output: ONNX's int32, held as int64. */
const int32Output = ({ acc, shape }: Accumulators): Tensor[] => [tensor('int64', shape, acc)];

/**
 * QLinearConv's and QLinearMatMul's requantization: inputs x, its scale and zero point at 0–2, w and
 * its scale and zero point at 3–5, the output's at 6–7, an int32 bias at 8.
 */
function requantize(node: GraphNode, inputs: readonly (Tensor | undefined)[], a: Accumulators): Tensor {
  const q = outputType(node, inputs);
  const sx = perChannel(node, inputs, 1, 1)(0);
  const sw = perChannel(node, inputs, 4, a.channels);
  const sy = perChannel(node, inputs, 6, 1)(0);
  const zy = perChannel(node, inputs, 7, 1)(0);
  const bias = perChannel(node, inputs, 8, a.channels);
  const scales = Array.from({ length: a.channels }, (_, c) => Math.fround(Math.fround(sx * sw(c)) / sy));
  const y = storage(q, a.acc.length);
  for (let e = 0; e < y.length; e++) {
    const c = channelOf(e, a);
    y[e] = saturate(roundHalfEven(Math.fround(Math.fround(a.acc[e]! + bias(c)) * scales[c]!)) + zy, q);
  }
  return tensor(q, a.shape, y);
}

const integerInfer =
  (
    shapeOf: (node: GraphNode, inputs: readonly (ValueInfo | undefined)[]) => number[],
    at: readonly number[],
  ) =>
  (node: GraphNode, inputs: readonly (ValueInfo | undefined)[]) => {
    for (const i of at) quantized(node, inputs, i);
    return shapeOf(node, inputs);
  };

const convShape = (wAt: number) => (node: GraphNode, inputs: readonly (ValueInfo | undefined)[]) =>
  geometry(node, need(node, inputs, 0).shape, need(node, inputs, wAt).shape).shape;

const matmulShape = (bAt: number) => (node: GraphNode, inputs: readonly (ValueInfo | undefined)[]) => {
  const a = need(node, inputs, 0).shape;
  return [...a.slice(0, -1), need(node, inputs, bAt).shape[1] ?? 1];
};

export const convInteger: OpDef = {
  op: 'ConvInteger',
  infer: (node, inputs) => [{ shape: integerInfer(convShape(1), [0, 1])(node, inputs), dtype: 'int64' }],
  run: (node, inputs) => int32Output(integerConv(node, inputs, 1, 2, 3)),
};

export const matMulInteger: OpDef = {
  op: 'MatMulInteger',
  infer: (node, inputs) => [{ shape: integerInfer(matmulShape(1), [0, 1])(node, inputs), dtype: 'int64' }],
  run: (node, inputs) => int32Output(integerMatmul(node, inputs, 1, 2, 3)),
};

const qlinearInfer =
  (shapeOf: (node: GraphNode, inputs: readonly (ValueInfo | undefined)[]) => number[]) =>
  (node: GraphNode, inputs: readonly (ValueInfo | undefined)[]) => {
    const dtype = outputType(node, inputs);
    return [{ shape: integerInfer(shapeOf, [0, 3])(node, inputs), dtype }];
  };

export const qlinearConv: OpDef = {
  op: 'QLinearConv',
  infer: qlinearInfer(convShape(3)),
  run: (node, inputs) => [requantize(node, inputs, integerConv(node, inputs, 3, 2, 5))],
};

export const qlinearMatMul: OpDef = {
  op: 'QLinearMatMul',
  infer: qlinearInfer(matmulShape(3)),
  run: (node, inputs) => [requantize(node, inputs, integerMatmul(node, inputs, 3, 2, 5))],
};

export const qlinearOps: readonly OpDef[] = [convInteger, matMulInteger, qlinearConv, qlinearMatMul];
