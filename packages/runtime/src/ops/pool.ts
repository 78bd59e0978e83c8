import { encodeGlobalAvgPool, encodePool, poolOutput, poolReference } from '@zeroskip/gpu';
import { attrNumber, attrNumbers, type GraphNode } from '../graph.js';
import { window2d } from '../shapes.js';
import { asFloat32, float32, sizeOf } from '../tensor.js';
import type { OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

/** Window and output size of a 2-D pool on NCHW `x`. */
function poolWindow(node: GraphNode, x: readonly number[]) {
  const win = window2d(node, x, attrNumbers(node, 'kernel_shape') ?? []);
  const ceil = attrNumber(node, 'ceil_mode', 0) === 1;
  const out = [0, 1].map((d) =>
    poolOutput(
      x[2 + d]!,
      win.kernel[d]!,
      win.stride[d]!,
      win.pads[d]!,
      win.pads[d + 2]!,
      win.dilation[d]!,
      ceil,
    ),
  ) as [number, number];
  return { win, ceil, out, countIncludePad: attrNumber(node, 'count_include_pad', 0) === 1 };
}

const isFloat4d = (x: ValueInfo | undefined) => x?.dtype === 'float32' && x.shape.length === 4;

function pool(op: 'MaxPool' | 'AveragePool', kind: 'max' | 'avg'): OpDef {
  return {
    op,
    infer(node, inputs) {
      const x = need(node, inputs, 0).shape;
      return [{ shape: [x[0]!, x[1]!, ...poolWindow(node, x).out], dtype: 'float32' }];
    },
    run(node, inputs) {
      const x = need(node, inputs, 0);
      const { win, out, countIncludePad } = poolWindow(node, x.shape);
      const [n, c, h, w] = x.shape as [number, number, number, number];
      const y = poolReference(
        asFloat32(x, op),
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
      return [float32([n, c, ...out], y)];
    },
    gpu: {
      plan: (_node, inputs) => (isFloat4d(inputs[0]) ? { kernel: `pool-${kind}` } : undefined),
      encode(node, ctx, outputs) {
        const x = ctx.input(0);
        const { win, ceil, countIncludePad } = poolWindow(node, x.shape);
        const y = ctx.empty(outputs[0]!.shape);
        encodePool(ctx.r, x, y, kind, {
          kernel: win.kernel,
          stride: win.stride,
          pads: win.pads,
          dilation: win.dilation,
          ceilMode: ceil,
          countIncludePad,
        });
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
    plan: (_node, inputs) => (isFloat4d(inputs[0]) ? { kernel: 'global-avg-pool' } : undefined),
    encode(_node, ctx, outputs) {
      const x = ctx.input(0);
      const y = ctx.empty(outputs[0]!.shape);
      encodeGlobalAvgPool(ctx.r, x, { ...y, shape: x.shape.slice(0, 2) });
      return [y];
    },
  },
};

export const poolOps: readonly OpDef[] = [
  pool('MaxPool', 'max'),
  pool('AveragePool', 'avg'),
  globalAveragePool,
];
