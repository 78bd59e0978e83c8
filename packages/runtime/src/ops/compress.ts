import { encodeAxisGather } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { sizeOf, type Tensor } from '../tensor.js';
import { gatherFlat } from './expand.js';
import { dataDependentSize } from './non-zero.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

type Inputs = Parameters<OpDef['infer']>[1];

/**
 * The input as the gather sees it (`view`: flattened when there is no axis attribute), the `axis` of
 * `view` gathered, the positions kept along it and the output shape. The shape depends on the
 * condition's values, so the condition must be known before running.
 */
function selection(node: GraphNode, inputs: Inputs) {
  const x = need(node, inputs, 0).shape;
  const c = inputs[1];
  const cond = c && ('data' in c ? (c as Tensor) : c.value);
  if (!cond) throw dataDependentSize(node, 'the values of its condition');
  const a = node.attrs.axis;
  const view = typeof a === 'number' ? x : [sizeOf(x)];
  const axis = typeof a === 'number' ? normAxis(a, x.length, node) : 0;
  if (cond.shape.length !== 1 || cond.data.length > view[axis]!)
    throw new RuntimeError(
      'invalid-input',
      `Compress '${node.name}' has a condition of shape [${cond.shape.join(', ')}] for ${view[axis]} positions; give a 1-D condition no longer than that.`,
    );
  const kept = Array.from(cond.data, (v, i) => (v ? i : -1)).filter((i) => i >= 0);
  return { view, axis, kept, shape: view.map((d, i) => (i === axis ? kept.length : d)) };
}

/** Compress: the positions along an axis (or of the flattened input) where the condition is true. */
export const compress: OpDef = {
  op: 'Compress',
  infer(node, inputs) {
    return [{ shape: selection(node, inputs).shape, dtype: need(node, inputs, 0).dtype }];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const { view, axis, kept, shape } = selection(node, inputs);
    const inner = sizeOf(view.slice(axis + 1));
    const source = new Uint32Array(sizeOf(shape));
    for (let e = 0; e < source.length; e++) {
      const j = Math.floor(e / inner) % kept.length;
      source[e] = (Math.floor(e / (inner * kept.length)) * view[axis]! + kept[j]!) * inner + (e % inner);
    }
    return [gatherFlat(x, shape, source)];
  },
  gpu: {
    // a constant condition is a list of positions for the axis gather kernel
    plan: (node, inputs) =>
      inputs[0]?.dtype === 'float32' && inputs[1]?.value && selection(node, inputs).kept.length > 0
        ? { kernel: 'gather' }
        : undefined,
    encode(node, ctx, outputs) {
      const x = ctx.input(0);
      const { view, axis, kept } = selection(node, ctx.inputs);
      const y = ctx.empty(outputs[0]!.shape);
      encodeAxisGather(ctx.r, { ...x, shape: view }, y, axis, { indices: kept });
      return [y];
    },
  },
};
