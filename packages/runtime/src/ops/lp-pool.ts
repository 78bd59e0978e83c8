import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { asFloat32, float32 } from '../tensor.js';
import { poolWindow } from './pool-window.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

/** The order p of an Lp pool (attribute p, default 2), which must be positive. */
export function lpOrder(node: GraphNode): number {
  const p = attrNumber(node, 'p', 2);
  if (!(p > 0))
    throw new RuntimeError(
      'invalid-model',
      `node '${node.name}' (${node.op}) has p = ${p}; the order of an Lp norm must be positive.`,
    );
  return p;
}

/**
 * LpPool, 2-D on NCHW and 1-D on NCL: (Σ |x|^p)^(1/p) over each window. Padding and the part of a
 * ceil_mode window past the input add nothing, as in ONNX Runtime.
 */
export const lpPool: OpDef = {
  op: 'LpPool',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    return [{ shape: poolWindow(node, x.shape).shape, dtype: x.dtype }];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const xd = asFloat32(x, `LpPool '${node.name}' input`);
    const p = lpOrder(node);
    const { win, out, x2d, shape } = poolWindow(node, x.shape);
    const [nc, h, w] = [x2d[0]! * x2d[1]!, x2d[2]!, x2d[3]!];
    const [oh, ow] = out;
    const y = new Float32Array(nc * oh * ow);
    for (let plane = 0; plane < nc; plane++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let sum = 0;
          for (let ky = 0; ky < win.kernel[0]; ky++) {
            const iy = oy * win.stride[0] - win.pads[0] + ky * win.dilation[0];
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < win.kernel[1]; kx++) {
              const ix = ox * win.stride[1] - win.pads[1] + kx * win.dilation[1];
              if (ix >= 0 && ix < w) sum += Math.abs(xd[(plane * h + iy) * w + ix]!) ** p;
            }
          }
          y[(plane * oh + oy) * ow + ox] = sum ** (1 / p);
        }
    return [float32(shape, y)];
  },
};
