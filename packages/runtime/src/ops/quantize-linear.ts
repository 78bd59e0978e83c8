import { encodeFakeQuantize, type FakeQuantizeSpec, fakeQuantizeReference } from '@zeroskip/gpu';
import { roundHalfEven } from '@zeroskip/quant';
import onnxProto from 'onnx-proto';
import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { asFloat32, type DType, float32, sizeOf, type Tensor, tensor } from '../tensor.js';
import { storage } from './cast.js';
import type { OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

// ONNX's linear quantization (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear) to and from
// int8 and uint8, per tensor or per axis, computed in f32 as ONNX Runtime computes it; and
// FakeQuantize (domain ai.zeroskip), the pair QuantizeLinear → DequantizeLinear as one float op,
// which the QDQ pass makes so that quantized activations stay float between float layers.

const T = onnxProto.onnx.TensorProto.DataType;

/** The integer types of linear quantization and their ranges. */
export const QUANT_RANGES = { uint8: [0, 255], int8: [-128, 127] } as const;
export type QuantDType = keyof typeof QUANT_RANGES;

export const isQuantDType = (d: DType): d is QuantDType => d in QUANT_RANGES;

/**
 * ONNX element types of quantization this runtime cannot hold, and what they are: float8 (17–20) and
 * int4 (21, 22), by number, which onnx-proto's enum predates.
 */
export const REFUSED_QUANT_TYPES: ReadonlyMap<number, string> = new Map([
  [17, '8-bit float'],
  [18, '8-bit float'],
  [19, '8-bit float'],
  [20, '8-bit float'],
  [21, '4-bit integer'],
  [22, '4-bit integer'],
]);

function unsupported(node: GraphNode, what: string): never {
  throw new RuntimeError(
    'unsupported-op',
    `node '${node.name}' (${node.op}) uses ${what}, which this runtime does not support; quantize per tensor or per axis to int8 or uint8.`,
  );
}

/** x's value saturated to the range of `dtype`. */
export function saturate(v: number, dtype: QuantDType): number {
  const [lo, hi] = QUANT_RANGES[dtype];
  return Math.min(Math.max(v, lo), hi);
}

/** round_half_to_even(x / s) of f32 values, as ONNX Runtime divides (a double quotient rounds to the f32 one). */
export const quantizeStep = (x: number, s: number): number => roundHalfEven(Math.fround(x / s));

/** How a node's scale (and zero point) apply to x: one for all, or one per index of `axis`. */
export interface QuantLayout {
  /** Scales: 1 (per tensor) or x.shape[axis]. */
  readonly channels: number;
  /** Elements between two channel steps: the product of x's dimensions after the axis. */
  readonly inner: number;
}

/** The channel of element `e` in a tensor laid out as `layout` says. */
export const channelOf = (e: number, layout: QuantLayout): number =>
  Math.floor(e / layout.inner) % layout.channels;

/**
 * Checks a node's scale and zero point against x (dtype and shape; blocked quantization refused) and
 * returns how they apply. `scale` is input 1, the zero point input 2, as in all three quantize ops.
 */
export function quantLayout(
  node: GraphNode,
  x: readonly number[],
  scale: ValueInfo,
  zero: ValueInfo | undefined,
): QuantLayout {
  if (attrNumber(node, 'block_size', 0) !== 0) unsupported(node, 'blocked quantization (block_size)');
  if (scale.dtype !== 'float32')
    throw new RuntimeError(
      'invalid-input',
      `node '${node.name}' (${node.op}) has a ${scale.dtype} scale; scales must be float32.`,
    );
  const count = sizeOf(scale.shape);
  if (zero && (sizeOf(zero.shape) !== count || zero.shape.length !== scale.shape.length))
    throw new RuntimeError(
      'invalid-model',
      `node '${node.name}' (${node.op}) has a zero point of shape [${zero.shape.join(', ')}] for a scale of shape [${scale.shape.join(', ')}]; give them the same shape.`,
    );
  if (scale.shape.length > 1)
    unsupported(node, `blocked quantization (a scale of shape [${scale.shape.join(', ')}])`);
  if (count === 1) return { channels: 1, inner: 1 };
  const axis = normAxis(attrNumber(node, 'axis', 1), x.length, node);
  if (count !== x[axis])
    throw new RuntimeError(
      'invalid-model',
      `node '${node.name}' (${node.op}) has ${count} scales for axis ${axis} of [${x.join(', ')}]; give one scale per index of the axis, or one in all.`,
    );
  return { channels: count, inner: sizeOf(x.slice(axis + 1)) };
}

/** The integer type QuantizeLinear writes: its zero point's, else output_dtype's (opset 21), else uint8. */
function quantizedType(node: GraphNode, zero: ValueInfo | undefined): QuantDType {
  const to = attrNumber(node, 'output_dtype', 0);
  if (to !== 0 && to !== T.INT8 && to !== T.UINT8)
    unsupported(node, `${REFUSED_QUANT_TYPES.get(to) ?? `ONNX type ${to}`} quantization`);
  const dtype = zero?.dtype ?? (to === T.INT8 ? 'int8' : 'uint8');
  if (!isQuantDType(dtype)) unsupported(node, `a ${dtype} zero point`);
  if (to !== 0 && to !== (dtype === 'int8' ? T.INT8 : T.UINT8))
    throw new RuntimeError(
      'invalid-model',
      `node '${node.name}' (QuantizeLinear) has output_dtype ${to} but a ${dtype} zero point; make them agree.`,
    );
  return dtype;
}

/** Zero points as numbers, one per channel (0 when the optional input is absent). */
const zeros = (zero: Tensor | undefined, channels: number): ArrayLike<number> =>
  zero ? zero.data : new Float64Array(channels);

function infoOf(node: GraphNode, inputs: readonly (ValueInfo | undefined)[]) {
  const x = need(node, inputs, 0);
  const zero = inputs[2];
  return { x, zero, layout: quantLayout(node, x.shape, need(node, inputs, 1), zero) };
}

export const quantizeLinear: OpDef = {
  op: 'QuantizeLinear',
  infer(node, inputs) {
    const { x, zero } = infoOf(node, inputs);
    return [{ shape: x.shape, dtype: quantizedType(node, zero) }];
  },
  run(node, inputs) {
    const { x, zero, layout } = infoOf(node, inputs);
    const dtype = quantizedType(node, zero);
    const xs = asFloat32(x as Tensor, 'QuantizeLinear input');
    const s = need(node, inputs, 1).data;
    const z = zeros(zero as Tensor | undefined, layout.channels);
    const y = storage(dtype, xs.length);
    for (let e = 0; e < xs.length; e++) {
      const c = channelOf(e, layout);
      y[e] = saturate(quantizeStep(xs[e]!, s[c]!) + z[c]!, dtype);
    }
    return [tensor(dtype, x.shape, y)];
  },
};

function checkDequantizable(node: GraphNode, x: ValueInfo, zero: ValueInfo | undefined): void {
  // int32 tensors (biases) are held as int64
  if (!isQuantDType(x.dtype) && x.dtype !== 'int64') unsupported(node, `${x.dtype} input`);
  if (zero && zero.dtype !== x.dtype)
    throw new RuntimeError(
      'invalid-model',
      `node '${node.name}' (DequantizeLinear) has a ${x.dtype} input and a ${zero.dtype} zero point; give them the same type.`,
    );
}

export const dequantizeLinear: OpDef = {
  op: 'DequantizeLinear',
  infer(node, inputs) {
    const { x, zero } = infoOf(node, inputs);
    checkDequantizable(node, x, zero);
    return [{ shape: x.shape, dtype: 'float32' }];
  },
  run(node, inputs) {
    const { x, zero, layout } = infoOf(node, inputs);
    checkDequantizable(node, x, zero);
    const s = need(node, inputs, 1).data;
    const z = zeros(zero as Tensor | undefined, layout.channels);
    const xs = (x as Tensor).data;
    const y = new Float32Array(xs.length);
    for (let e = 0; e < xs.length; e++) {
      const c = channelOf(e, layout);
      // ONNX Runtime converts the integer difference to f32, then multiplies in f32
      y[e] = Math.fround(xs[e]! - z[c]!) * s[c]!;
    }
    return [float32(x.shape, y)];
  },
};

/** DynamicQuantizeLinear's scale and zero point for values in [lo, hi], in ONNX Runtime's f32 steps. */
function dynamicParams(lo: number, hi: number): { scale: number; zero: number } {
  const [qmin, qmax] = QUANT_RANGES.uint8;
  const scale = hi === lo ? 1 : Math.fround(Math.fround(hi - lo) / (qmax - qmin));
  const initial = Math.fround(qmin - Math.fround(lo / scale));
  return { scale, zero: roundHalfEven(Math.max(qmin, Math.min(qmax, initial))) };
}

export const dynamicQuantizeLinear: OpDef = {
  op: 'DynamicQuantizeLinear',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    if (x.dtype !== 'float32') unsupported(node, `a ${x.dtype} input`);
    return [
      { shape: x.shape, dtype: 'uint8' },
      { shape: [], dtype: 'float32' },
      { shape: [], dtype: 'uint8' },
    ];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const xs = asFloat32(x, 'DynamicQuantizeLinear input');
    // the range always holds 0, so that 0 quantizes exactly
    let lo = 0;
    let hi = 0;
    for (const v of xs) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const { scale, zero } = dynamicParams(lo, hi);
    const y = new Uint8Array(xs.length);
    for (let e = 0; e < xs.length; e++) y[e] = saturate(quantizeStep(xs[e]!, scale) + zero, 'uint8');
    return [
      tensor('uint8', x.shape, y),
      float32([], Float32Array.of(scale)),
      tensor('uint8', [], Uint8Array.of(zero)),
    ];
  },
};

/** FakeQuantize's kernel spec, after checking its inputs as QuantizeLinear does. */
function fakeSpec(node: GraphNode, inputs: readonly (ValueInfo | undefined)[]) {
  const { x, zero, layout } = infoOf(node, inputs);
  if (x.dtype !== 'float32') unsupported(node, `a ${x.dtype} input`);
  const [qmin, qmax] = QUANT_RANGES[quantizedType(node, zero)];
  const spec: FakeQuantizeSpec = { inner: layout.inner, qmin, qmax };
  return { x, spec, channels: layout.channels };
}

/** Scale and zero point of a FakeQuantize as f32 arrays, from host tensors. */
function fakeParams(node: GraphNode, scale: Tensor, zero: Tensor | undefined, channels: number) {
  return {
    scale: asFloat32(scale, `scale of '${node.name}'`),
    zero: Float32Array.from(zeros(zero, channels)),
  };
}

export const fakeQuantize: OpDef = {
  op: 'FakeQuantize',
  infer: (node, inputs) => [{ shape: fakeSpec(node, inputs).x.shape, dtype: 'float32' }],
  run(node, inputs) {
    const { x, spec, channels } = fakeSpec(node, inputs);
    const p = fakeParams(node, need(node, inputs, 1), inputs[2], channels);
    return [
      float32(x.shape, fakeQuantizeReference((x as Tensor).data as Float32Array, p.scale, p.zero, spec)),
    ];
  },
  gpu: {
    plan(node, inputs, ctx) {
      const known = [1, 2].every((i) => !node.inputs[i] || ctx.constant(node.inputs[i]!));
      return inputs[0]?.dtype === 'float32' && known ? { kernel: 'fake-quantize' } : undefined;
    },
    encode(node, ctx, outputs) {
      const { spec, channels } = ctx.planned(() => fakeSpec(node, ctx.inputs));
      const params = ctx.cached('params', () => {
        const zero = node.inputs[2] ? ctx.constant(node.inputs[2]) : undefined;
        const p = fakeParams(node, ctx.constant(node.inputs[1]!)!, zero, channels);
        const scale = ctx.gpu.tensor([channels], p.scale);
        const z = ctx.gpu.tensor([channels], p.zero);
        return {
          scale,
          zero: z,
          destroy: () => {
            ctx.gpu.release(scale);
            ctx.gpu.release(z);
          },
        };
      });
      const y = ctx.empty(outputs[0]!.shape);
      encodeFakeQuantize(ctx.r, ctx.input(0), params.scale, params.zero, y, spec);
      return [y];
    },
  },
};

export const quantizeLinearOps: readonly OpDef[] = [
  quantizeLinear,
  dequantizeLinear,
  dynamicQuantizeLinear,
  fakeQuantize,
];
