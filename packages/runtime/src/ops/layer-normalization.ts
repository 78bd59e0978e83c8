import { binaryReference, encodeLayerNorm, MAX_NORM_DIMS } from '@zeroskip/gpu';
import { attrNumber, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { asFloat32, float32, sizeOf, type Tensor } from '../tensor.js';
import type { GpuOp, OpDef, OutputInfo, ValueInfo } from './types.js';
import { need } from './util.js';

/** Rows of x standardised to mean 0 and variance 1, with each row's mean and 1/√(var + ε). */
export interface Standardized {
  readonly y: Float32Array;
  readonly mean: Float32Array;
  readonly invStdDev: Float32Array;
}

/** Standardises each of the `rows` contiguous runs of x (float64 sums, two passes, for accuracy). */
export function standardize(x: Float32Array, rows: number, epsilon: number): Standardized {
  const len = rows === 0 ? 0 : x.length / rows;
  const y = new Float32Array(x.length);
  const mean = new Float32Array(rows);
  const invStdDev = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * len, (r + 1) * len);
    let m = 0;
    for (const v of row) m += v;
    m /= len;
    let s = 0;
    for (const v of row) s += (v - m) ** 2;
    const inv = 1 / Math.sqrt(s / len + epsilon);
    for (let i = 0; i < len; i++) y[r * len + i] = (row[i]! - m) * inv;
    mean[r] = m;
    invStdDev[r] = inv;
  }
  return { y, mean, invStdDev };
}

function layerShapes(node: GraphNode, shape: readonly number[]): { axis: number; stats: number[] } {
  const axis = normAxis(attrNumber(node, 'axis', -1), shape.length, node);
  return { axis, stats: shape.map((d, i) => (i < axis ? d : 1)) };
}

/** Whether a parameter of `shape` broadcasts over the normalised shape alone (what the GPU kernel takes). */
function fitsNormalized(shape: readonly number[], normalized: readonly number[]): boolean {
  const first = shape.findIndex((d) => d !== 1);
  const s = first === -1 ? [] : shape.slice(first);
  return (
    s.length <= normalized.length &&
    s.every((d, i) => d === 1 || d === normalized[normalized.length - s.length + i])
  );
}

/** On the GPU: float32, Y alone (the kernel does not write Mean and InvStdDev), parameters over the normalised axes. */
const layerNormGpu: GpuOp = {
  plan(node, inputs) {
    const x = inputs[0];
    if (!x || !inputs.every((v) => v === undefined || v.dtype === 'float32')) return undefined;
    if (node.outputs.slice(1).some((o) => o !== '')) return undefined;
    const normalized = x.shape.slice(layerShapes(node, x.shape).axis);
    const params = inputs.slice(1).filter((v): v is ValueInfo => v !== undefined);
    if (!params.every((p) => fitsNormalized(p.shape, normalized))) return undefined;
    return normalized.filter((d) => d !== 1).length <= MAX_NORM_DIMS ? { kernel: 'layer-norm' } : undefined;
  },
  encode(node, ctx, outputs) {
    const x = ctx.input(0);
    const y = ctx.empty(outputs[0]!.shape);
    const bias = ctx.inputs[2] ? ctx.input(2) : undefined;
    const { axis } = layerShapes(node, x.shape);
    encodeLayerNorm(ctx.r, x, ctx.input(1), bias, y, axis, attrNumber(node, 'epsilon', 1e-5));
    return [y];
  },
};

/** LayerNormalization (opset 17): standardise over the axes from `axis` on, then · Scale + B (broadcast). */
export const layerNormalization: OpDef = {
  op: 'LayerNormalization',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    const { stats } = layerShapes(node, x.shape);
    const out: OutputInfo[] = [{ shape: x.shape, dtype: x.dtype }];
    for (let i = 1; i < node.outputs.length; i++) out.push({ shape: stats, dtype: 'float32' });
    return out;
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const { axis, stats } = layerShapes(node, x.shape);
    const std = standardize(
      asFloat32(x, `LayerNormalization '${node.name}' input`),
      sizeOf(x.shape.slice(0, axis)),
      attrNumber(node, 'epsilon', 1e-5),
    );
    const affine = (v: Float32Array, t: Tensor | undefined, f: (a: number, b: number) => number) =>
      t
        ? (binaryReference(
            v,
            x.shape,
            asFloat32(t, `LayerNormalization '${node.name}' parameter`),
            t.shape,
            f,
          ).data as Float32Array)
        : v;
    const scaled = affine(std.y, need(node, inputs, 1), (a, b) => a * b);
    const y = float32(
      x.shape,
      affine(scaled, inputs[2], (a, b) => a + b),
    );
    return [y, float32(stats, std.mean), float32(stats, std.invStdDev)].slice(0, node.outputs.length);
  },
  gpu: layerNormGpu,
};
