import { type BitPoolGeometry, bitPoolGeometry, type PoolParams, poolOutput } from '@zeroskip/gpu';
import { type AttributeValue, attrNumber, attrNumbers, type GraphNode } from '../graph.js';
import { as2d, shape2d, window2d } from '../shapes.js';

/** Window and output size of a 2-D pool on NCHW `x` (a 1-D pool on NCL as a 2-D one of unit height). */
export function poolWindow(node: GraphNode, x: readonly number[]) {
  const node2d = as2d(node, x.length);
  const x2d = shape2d(x);
  const win = window2d(node2d, x2d, attrNumbers(node2d, 'kernel_shape') ?? []);
  const ceil = attrNumber(node, 'ceil_mode', 0) === 1;
  const out = [0, 1].map((d) =>
    poolOutput(
      x2d[2 + d]!,
      win.kernel[d]!,
      win.stride[d]!,
      win.pads[d]!,
      win.pads[d + 2]!,
      win.dilation[d]!,
      ceil,
    ),
  ) as [number, number];
  const shape = x.length === 3 ? [x[0]!, x[1]!, out[1]] : [x[0]!, x[1]!, ...out];
  return { win, ceil, out, x2d, shape, countIncludePad: attrNumber(node, 'count_include_pad', 0) === 1 };
}

/** The parameters of a pool on NCHW `x` as the GPU's pool kernels take them. */
export function poolParams(node: GraphNode, x: readonly number[]): PoolParams {
  const { win, ceil, countIncludePad } = poolWindow(node, x);
  return {
    kernel: win.kernel,
    stride: win.stride,
    pads: win.pads,
    dilation: win.dilation,
    ceilMode: ceil,
    countIncludePad,
  };
}

/** The geometry of a MaxPool on NCHW `x` as the packed-bit kernels take it. */
export function bitPoolWindow(
  node: GraphNode,
  x: readonly [number, number, number, number],
): BitPoolGeometry {
  return bitPoolGeometry(x, poolParams(node, x));
}

/** The prefix of a fused node's attributes that hold the MaxPool it fuses (ConvPoolSign, QuantConv). */
export const POOL_PREFIX = 'pool_';

/** A MaxPool's attributes as a fused node holds them. */
export function prefixedPoolAttrs(pool: GraphNode): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(pool.attrs).map(([k, v]) => [POOL_PREFIX + k, v]));
}

/** Whether a node holds a MaxPool in pool_ attributes. */
export const holdsPool = (node: GraphNode) => Object.keys(node.attrs).some((k) => k.startsWith(POOL_PREFIX));

/** The pool (a MaxPool unless `op` says) a fused node holds in its pool_ attributes, from `input` to `outputs`. */
export function fusedPool(
  node: GraphNode,
  input: string,
  op: 'MaxPool' | 'AveragePool' = 'MaxPool',
  outputs: readonly string[] = node.outputs,
): GraphNode {
  return {
    op,
    name: node.name,
    inputs: [input],
    outputs: [...outputs],
    attrs: Object.fromEntries(
      Object.entries(node.attrs)
        .filter(([k]) => k.startsWith(POOL_PREFIX))
        .map(([k, v]) => [k.slice(POOL_PREFIX.length), v]),
    ),
  };
}
