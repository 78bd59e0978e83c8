import {
  encodeGlobalAvgPool,
  encodeMaxPoolBits,
  encodePool,
  packedShape,
  poolReference,
} from '@zeroskip/gpu';
import { asFloat32, type DType, float32, sizeOf, tensor } from '../tensor.js';
import { storage } from './cast.js';
import { bitPoolWindow, poolParams, poolWindow } from './pool-window.js';
import type { OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

const isFloat1d2d = (x: ValueInfo | undefined) =>
  x?.dtype === 'float32' && (x.shape.length === 3 || x.shape.length === 4);

/** MaxPool also takes 8-bit quantized tensors (ONNX opset 12): the max of codes, exact in float32, is the code of the max. */
const poolDtype = (kind: 'max' | 'avg', dtype: DType): DType =>
  kind === 'max' && (dtype === 'int8' || dtype === 'uint8') ? dtype : 'float32';

function pool(op: 'MaxPool' | 'AveragePool', kind: 'max' | 'avg'): OpDef {
  return {
    op,
    infer(node, inputs) {
      const x = need(node, inputs, 0);
      return [{ shape: poolWindow(node, x.shape).shape, dtype: poolDtype(kind, x.dtype) }];
    },
    run(node, inputs) {
      const x = need(node, inputs, 0);
      const { win, out, x2d, shape, countIncludePad } = poolWindow(node, x.shape);
      const [n, c, h, w] = x2d as [number, number, number, number];
      const dtype = poolDtype(kind, x.dtype);
      const y = poolReference(
        dtype === 'float32' ? asFloat32(x, op) : Float32Array.from(x.data),
        [n, c, h, w],
        kind,
        win.kernel,
        win.stride,
        win.pads,
        win.dilation,
        out[0],
        out[1],
        countIncludePad,
      );
      if (dtype === 'float32') return [float32(shape, y)];
      const codes = storage(dtype, y.length);
      codes.set(y);
      return [tensor(dtype, shape, codes)];
    },
    gpu: {
      plan(node, inputs, ctx) {
        if (!isFloat1d2d(inputs[0])) return undefined;
        // a max of sign or k-bit codes is the code of the max: pool the packed planes as they are
        const bits = ctx.bits(node.inputs[0]!);
        return kind === 'max' && bits && bits.mode !== 'sign0' && inputs[0]!.shape.length === 4
          ? { kernel: 'pool-max-bits', outputBits: bits }
          : { kernel: `pool-${kind}` };
      },
      encode(node, ctx, outputs) {
        if (ctx.kernel === 'pool-max-bits') {
          const encoding = ctx.bits(node.inputs[0]!)!;
          const x4 = ctx.inputs[0]!.shape as [number, number, number, number];
          const y4 = outputs[0]!.shape as [number, number, number, number];
          const geometry = ctx.planned(() => bitPoolWindow(node, x4));
          const y = ctx.gpu.empty(packedShape(y4, encoding), 'u32');
          encodeMaxPoolBits(ctx.r, ctx.packed(0)!, y, geometry, encoding);
          return [y];
        }
        const { x2d, y2d, params } = ctx.planned(() => {
          const { x2d, out } = poolWindow(node, ctx.inputs[0]!.shape);
          return { x2d, y2d: [x2d[0]!, x2d[1]!, ...out], params: poolParams(node, ctx.inputs[0]!.shape) };
        });
        const y = ctx.empty(outputs[0]!.shape);
        encodePool(ctx.r, { ...ctx.input(0), shape: x2d }, { ...y, shape: y2d }, kind, params);
        return [y];
      },
    },
  };
}

export const globalAveragePool: OpDef = {
  op: 'GlobalAveragePool',
  infer(node, inputs) {
    const x = need(node, inputs, 0).shape;
    return [{ shape: [x[0]!, x[1]!, ...x.slice(2).map(() => 1)], dtype: 'float32' }];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const hw = sizeOf(x.shape.slice(2));
    const xd = asFloat32(x, 'GlobalAveragePool input');
    const y = Float32Array.from({ length: xd.length / hw }, (_, i) => {
      let s = 0;
      for (let j = 0; j < hw; j++) s += xd[i * hw + j]!;
      return s / hw;
    });
    return [float32([...x.shape.slice(0, 2), ...x.shape.slice(2).map(() => 1)], y)];
  },
  gpu: {
    // any spatial rank, as one row per channel
    plan: (_node, inputs) =>
      inputs[0]?.dtype === 'float32' && inputs[0].shape.length >= 3
        ? { kernel: 'global-avg-pool' }
        : undefined,
    encode(_node, ctx, outputs) {
      const x = ctx.input(0);
      const [n, c] = x.shape as [number, number];
      const y = ctx.empty(outputs[0]!.shape);
      encodeGlobalAvgPool(ctx.r, { ...x, shape: [n, c, 1, x.size / (n * c)] }, { ...y, shape: [n, c] });
      return [y];
    },
  },
};

export const maxPool = pool('MaxPool', 'max');

export const poolOps: readonly OpDef[] = [maxPool, pool('AveragePool', 'avg'), globalAveragePool];
