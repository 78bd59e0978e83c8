import { encodeTranspose, strides } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, attrString, type GraphNode } from '../graph.js';
import { type Tensor, tensor } from '../tensor.js';
import type { GpuOp, OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

/** A DepthToSpace or SpaceToDepth as ONNX defines it: view as 6-D, permute, view as 4-D. */
interface Rearrangement {
  readonly view: number[];
  readonly perm: number[];
  readonly shape: number[];
}

function depthToSpaceLayout(node: GraphNode, x: readonly number[]): Rearrangement {
  const [n, c, h, w] = dims(node, x);
  const b = attrNumber(node, 'blocksize', 0);
  if (b < 1 || c % (b * b) !== 0)
    throw new RuntimeError(
      'invalid-input',
      `node '${node.name}' (DepthToSpace) has ${c} channels, which blocksize ${b} does not divide into ${b}×${b} blocks; use a blocksize whose square divides the channels.`,
    );
  const mode = attrString(node, 'mode', 'DCR');
  const co = c / (b * b);
  const shape = [n, co, h * b, w * b];
  if (mode === 'DCR') return { view: [n, b, b, co, h, w], perm: [0, 3, 4, 1, 5, 2], shape };
  if (mode === 'CRD') return { view: [n, co, b, b, h, w], perm: [0, 1, 4, 2, 5, 3], shape };
  throw new RuntimeError(
    'unsupported-op',
    `node '${node.name}' (DepthToSpace) has mode '${mode}'; the modes are DCR and CRD.`,
  );
}

function spaceToDepthLayout(node: GraphNode, x: readonly number[]): Rearrangement {
  const [n, c, h, w] = dims(node, x);
  const b = attrNumber(node, 'blocksize', 0);
  if (b < 1 || h % b !== 0 || w % b !== 0)
    throw new RuntimeError(
      'invalid-input',
      `node '${node.name}' (SpaceToDepth) has a ${h}×${w} image, which blocksize ${b} does not divide; use a blocksize that divides the height and width.`,
    );
  return {
    view: [n, c, h / b, b, w / b, b],
    perm: [0, 3, 5, 1, 2, 4],
    shape: [n, c * b * b, h / b, w / b],
  };
}

function dims(node: GraphNode, x: readonly number[]): [number, number, number, number] {
  if (x.length !== 4)
    throw new RuntimeError(
      'invalid-input',
      `node '${node.name}' (${node.op}) needs a 4-D NCHW input, got rank ${x.length}.`,
    );
  return x as [number, number, number, number];
}

/** y[e] = x[perm-mapped e] for any dtype. */
function permute(
  x: Tensor,
  view: readonly number[],
  perm: readonly number[],
  shape: readonly number[],
): Tensor {
  const out = perm.map((p) => view[p]!);
  const [si, so] = [strides(view), strides(out)];
  const data = x.data.slice();
  for (let e = 0; e < data.length; e++) {
    let src = 0;
    for (let d = 0; d < perm.length; d++) src += (Math.floor(e / so[d]!) % out[d]!) * si[perm[d]!]!;
    data[e] = x.data[src]!;
  }
  return tensor(x.dtype, shape, data);
}

function rearrangeOp(
  op: string,
  rearrangement: (node: GraphNode, x: readonly number[]) => Rearrangement,
): OpDef {
  const gpu: GpuOp = {
    plan: (_node, inputs: readonly (ValueInfo | undefined)[]) =>
      inputs[0]?.dtype === 'float32' ? { kernel: 'transpose' } : undefined,
    encode(node, ctx) {
      const x = ctx.input(0);
      const { view, perm, shape } = rearrangement(node, x.shape);
      const y = ctx.empty(shape);
      encodeTranspose(ctx.r, { ...x, shape: view }, y, perm);
      return [y];
    },
  };
  return {
    op,
    infer(node, inputs) {
      const x = need(node, inputs, 0);
      return [{ shape: rearrangement(node, x.shape).shape, dtype: x.dtype }];
    },
    run(node, inputs) {
      const x = need(node, inputs, 0);
      const { view, perm, shape } = rearrangement(node, x.shape);
      return [permute(x, view, perm, shape)];
    },
    gpu,
  };
}

export const depthToSpace = rearrangeOp('DepthToSpace', depthToSpaceLayout);
export const spaceToDepth = rearrangeOp('SpaceToDepth', spaceToDepthLayout);
