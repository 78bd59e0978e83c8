import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { int64, sizeOf } from '../tensor.js';
import { gatherFlat } from './expand.js';
import type { OpDef } from './types.js';
import { known, need } from './util.js';

type Inputs = Parameters<OpDef['infer']>[1];

/** The axis and K (input 1, which must be known), and the shape of both outputs. */
function selection(node: GraphNode, inputs: Inputs): { axis: number; k: number; shape: number[] } {
  const x = need(node, inputs, 0);
  if (x.dtype === 'bool')
    throw new RuntimeError('unsupported-op', `TopK '${node.name}' reads a bool tensor; pass numbers.`);
  const axis = normAxis(attrNumber(node, 'axis', -1), x.shape.length, node);
  const ks = known(node, inputs, 1, 'K');
  const k = ks[0] ?? -1;
  if (ks.length !== 1 || k < 0 || k > x.shape[axis]!)
    throw new RuntimeError(
      'invalid-input',
      `TopK '${node.name}' has K = [${ks.join(', ')}] for an axis of size ${x.shape[axis]}; give one count from 0 to that size.`,
    );
  return { axis, k, shape: x.shape.map((d, i) => (i === axis ? k : d)) };
}

/**
 * TopK: the K largest (or smallest) values along an axis and their indices, best first; equal values
 * in index order, as ONNX Runtime breaks ties. Unsorted output (sorted=0) may come in any order, so
 * it comes sorted too.
 */
export const topK: OpDef = {
  op: 'TopK',
  infer(node, inputs) {
    const { shape } = selection(node, inputs);
    return [
      { shape, dtype: need(node, inputs, 0).dtype },
      { shape, dtype: 'int64' },
    ];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const { axis, k, shape } = selection(node, inputs);
    const sign = attrNumber(node, 'largest', 1) === 1 ? -1 : 1;
    const len = x.shape[axis]!;
    const inner = sizeOf(x.shape.slice(axis + 1));
    const source = new Uint32Array(sizeOf(shape));
    const indices = new Float64Array(source.length);
    const order = Array.from({ length: len }, (_, i) => i);
    const lanes = sizeOf(x.shape.filter((_, i) => i !== axis));
    for (let lane = 0; lane < lanes; lane++) {
      const outer = Math.floor(lane / inner);
      const base = outer * len * inner + (lane % inner);
      const at = (i: number) => x.data[base + i * inner]!;
      // a total order (ties by index), so the previous lane's order is as good a start as any
      order.sort((i, j) => sign * (at(i) - at(j)) || i - j);
      for (let r = 0; r < k; r++) {
        const o = (outer * k + r) * inner + (lane % inner);
        source[o] = base + order[r]! * inner;
        indices[o] = order[r]!;
      }
    }
    return [gatherFlat(x, shape, source), int64(shape, indices)];
  },
};
