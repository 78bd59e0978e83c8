import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { int64, sizeOf } from '../tensor.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

function argShape(node: GraphNode, shape: readonly number[]): { axis: number; shape: number[] } {
  const axis = normAxis(attrNumber(node, 'axis', 0), shape.length, node);
  const keep = attrNumber(node, 'keepdims', 1) === 1;
  return {
    axis,
    shape: keep ? shape.map((d, i) => (i === axis ? 1 : d)) : shape.filter((_, i) => i !== axis),
  };
}

/** ArgMax / ArgMin: the index of the first (or, with select_last_index, the last) extreme along an axis. */
function argOp(op: 'ArgMax' | 'ArgMin', better: (v: number, best: number) => boolean): OpDef {
  return {
    op,
    infer(node, inputs) {
      const x = need(node, inputs, 0);
      if (x.dtype === 'bool')
        throw new RuntimeError(
          'unsupported-op',
          `node '${node.name}' (${op}) reads a bool tensor; pass numbers.`,
        );
      return [{ shape: argShape(node, x.shape).shape, dtype: 'int64' }];
    },
    run(node, inputs) {
      const x = need(node, inputs, 0);
      const { axis, shape } = argShape(node, x.shape);
      const last = attrNumber(node, 'select_last_index', 0) === 1;
      const len = x.shape[axis]!;
      const inner = sizeOf(x.shape.slice(axis + 1));
      const out = new Float64Array(sizeOf(shape));
      for (let o = 0; o < out.length; o++) {
        const base = Math.floor(o / inner) * len * inner + (o % inner);
        let best = 0;
        for (let i = 1; i < len; i++) {
          const v = x.data[base + i * inner]!;
          const b = x.data[base + best * inner]!;
          if (better(v, b) || (last && v === b)) best = i;
        }
        out[o] = best;
      }
      return [int64(shape, out)];
    },
  };
}

export const argMax = argOp('ArgMax', (v, best) => v > best);
export const argMin = argOp('ArgMin', (v, best) => v < best);
