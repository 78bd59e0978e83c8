import { attrNumber, type GraphNode } from '../graph.js';
import { int64 } from '../tensor.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

/** ONNX Shape: the (optionally sliced, opset 15+) dimensions. */
function dims(node: GraphNode, shape: readonly number[]): number[] {
  const rank = shape.length;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  return shape.slice(clamp(attrNumber(node, 'start', 0)), clamp(attrNumber(node, 'end', rank)));
}

/** Shape reads only the input's shape, which is known before running: its value is always known. */
export const shape: OpDef = {
  op: 'Shape',
  infer(node, inputs) {
    const d = dims(node, need(node, inputs, 0).shape);
    return [{ shape: [d.length], dtype: 'int64', value: int64([d.length], d) }];
  },
  run(node, inputs) {
    const d = dims(node, need(node, inputs, 0).shape);
    return [int64([d.length], d)];
  },
};

export const size: OpDef = {
  op: 'Size',
  infer: (node, inputs) => [
    { shape: [], dtype: 'int64', value: int64([], [need(node, inputs, 0).shape.reduce((a, b) => a * b, 1)]) },
  ],
  run: (node, inputs) => [int64([], [need(node, inputs, 0).data.length])],
};
