import onnxProto from 'onnx-proto';
import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { type DType, type Tensor, tensor } from '../tensor.js';
import type { GpuOp, OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

const T = onnxProto.onnx.TensorProto.DataType;

/** Fresh storage for `n` values of `dtype`, in tensor.ts's layout (int64 as exact numbers, bool and uint8 as bytes). */
export function storage(dtype: DType, n: number): Tensor['data'] {
  if (dtype === 'float32') return new Float32Array(n);
  if (dtype === 'int8') return new Int8Array(n);
  return dtype === 'int64' ? new Float64Array(n) : new Uint8Array(n);
}

/**
 * Truncation toward zero into a signed integer of `bits` bits as x86 converts floats (and so ONNX
 * Runtime): NaN, ±∞ and values out of range become the "integer indefinite" −2^(bits−1).
 */
function truncate(v: number, bits: number): number {
  const t = Math.trunc(v);
  // + 0 turns −0 into 0, which integers lack
  return Math.abs(t) < 2 ** (bits - 1) ? t + 0 : -(2 ** (bits - 1));
}

/**
 * Conversion to an integer of `bits` bits: floats truncate toward zero through the hardware's 32- or
 * 64-bit conversion, then every value wraps around (two's complement) to the target's width.
 */
function integer(bits: number, signed: boolean): (v: number, float: boolean) => number {
  const m = 2 ** bits;
  const via = bits < 32 || (bits === 32 && signed) ? 32 : 64;
  return (v, float) => {
    const r = (((float ? truncate(v, via) : v) % m) + m) % m;
    return signed && r >= m / 2 ? r - m : r;
  };
}

/** v rounded to the nearest IEEE half-precision value (ties to even), overflowing to ±∞. */
export function toHalf(v: number): number {
  const a = Math.abs(v);
  if (!Number.isFinite(a) || a === 0) return v;
  if (a >= 65520) return Math.sign(v) * Number.POSITIVE_INFINITY;
  let e = Math.max(Math.floor(Math.log2(a)), -14);
  if (e > -14 && 2 ** e > a) e--;
  // 10 fraction bits; below 2⁻¹⁴ the subnormals share the smallest exponent's spacing
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  let r = Math.round(q);
  if (r - q === 0.5 && r % 2 === 1) r--;
  return Math.sign(v) * r * ulp;
}

/** The runtime form of an ONNX element type: its dtype and the conversion of one value. */
export interface Target {
  readonly name: string;
  readonly dtype: DType;
  /** One value, from a float32 source or from an integer or bool one. */
  readonly convert: (v: number, float: boolean) => number;
}

const same = (v: number) => v;

/**
 * What each ONNX element type becomes. tensor.ts holds float32, int64, uint8, int8 and bool only: the other
 * integer types live in int64 with their own width's wrap-around applied, and double and float16 in
 * float32 (float16 rounded to half precision first), so values match ONNX's up to that storage.
 */
const TARGETS: ReadonlyMap<number, Target> = new Map<number, Target>([
  [T.FLOAT, { name: 'FLOAT', dtype: 'float32', convert: same }],
  [T.DOUBLE, { name: 'DOUBLE', dtype: 'float32', convert: same }],
  [T.FLOAT16, { name: 'FLOAT16', dtype: 'float32', convert: toHalf }],
  [T.UINT8, { name: 'UINT8', dtype: 'uint8', convert: integer(8, false) }],
  [T.INT8, { name: 'INT8', dtype: 'int8', convert: integer(8, true) }],
  [T.UINT16, { name: 'UINT16', dtype: 'int64', convert: integer(16, false) }],
  [T.INT16, { name: 'INT16', dtype: 'int64', convert: integer(16, true) }],
  [T.UINT32, { name: 'UINT32', dtype: 'int64', convert: integer(32, false) }],
  [T.INT32, { name: 'INT32', dtype: 'int64', convert: integer(32, true) }],
  [T.INT64, { name: 'INT64', dtype: 'int64', convert: (v, float) => (float ? truncate(v, 64) : v) }],
  [T.BOOL, { name: 'BOOL', dtype: 'bool', convert: (v) => (v !== 0 ? 1 : 0) }],
]);

/** The target of a runtime dtype (CastLike): an int32 tensor reads as int64 here, so no 32-bit wrap applies. */
const LIKE: Readonly<Record<DType, number>> = {
  float32: T.FLOAT,
  int64: T.INT64,
  uint8: T.UINT8,
  int8: T.INT8,
  bool: T.BOOL,
};

/** The target of an ONNX element type enum, or an error naming the supported ones. */
export function castTarget(node: GraphNode, to: number): Target {
  const t = TARGETS.get(to);
  if (!t)
    throw new RuntimeError(
      'unsupported-op',
      `node '${node.name}' (${node.op}) casts to ONNX element type ${to}; supported targets: ${[...TARGETS.values()].map((v) => v.name).join(', ')}.`,
    );
  return t;
}

/** `x` converted to the target's dtype and values. */
function cast(x: Tensor, t: Target): Tensor {
  const out = storage(t.dtype, x.data.length);
  const float = x.dtype === 'float32';
  for (let i = 0; i < out.length; i++) out[i] = t.convert(x.data[i]!, float);
  return tensor(t.dtype, x.shape, out);
}

/** float32 to float32 or double changes nothing in this storage: the GPU passes the buffer through. */
function passThrough(to: (inputs: readonly (ValueInfo | undefined)[], node: GraphNode) => Target): GpuOp {
  return {
    plan: (node, inputs) =>
      inputs[0]?.dtype === 'float32' && to(inputs, node).convert === same ? { kernel: 'view' } : undefined,
    encode: (_node, ctx) => [{ ...ctx.input(0) }],
  };
}

const castTo = (_inputs: unknown, node: GraphNode) => castTarget(node, attrNumber(node, 'to', T.UNDEFINED));
const likeOf = (inputs: readonly (ValueInfo | undefined)[], node: GraphNode) =>
  castTarget(node, LIKE[need(node, inputs, 1).dtype]);

export const castOp: OpDef = {
  op: 'Cast',
  infer: (node, inputs) => [{ shape: need(node, inputs, 0).shape, dtype: castTo(inputs, node).dtype }],
  run: (node, inputs) => [cast(need(node, inputs, 0), castTo(inputs, node))],
  gpu: passThrough(castTo),
};

export const castLike: OpDef = {
  op: 'CastLike',
  infer: (node, inputs) => [{ shape: need(node, inputs, 0).shape, dtype: likeOf(inputs, node).dtype }],
  run: (node, inputs) => [cast(need(node, inputs, 0), likeOf(inputs, node))],
  gpu: passThrough(likeOf),
};

/** Checks that a node's input has one of the dtypes the op takes. */
export function expectDtype(node: GraphNode, dtype: DType, allowed: readonly DType[]): void {
  if (!allowed.includes(dtype))
    throw new RuntimeError(
      'invalid-input',
      `node '${node.name}' (${node.op}) takes ${allowed.join(' or ')} inputs, got ${dtype}; cast the input first.`,
    );
}
