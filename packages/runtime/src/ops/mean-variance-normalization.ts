import { attrNumbers, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { asFloat32, float32 } from '../tensor.js';
import { groupIndex } from './reduction.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

/** ONNX's epsilon, added to the standard deviation so that a constant group becomes zeros. */
const EPSILON = 1e-9;

/** Per axis of `shape`, whether the statistics are taken over it (attribute axes, default [0, 2, 3]). */
function reducedAxes(node: GraphNode, shape: readonly number[]): boolean[] {
  const axes = new Set((attrNumbers(node, 'axes') ?? [0, 2, 3]).map((a) => normAxis(a, shape.length, node)));
  return shape.map((_, i) => axes.has(i));
}

/**
 * MeanVarianceNormalization: (x − E[x]) / (√Var[x] + 1e-9) over the groups of elements that differ
 * only on `axes`, as ONNX defines it (ONNX Runtime leaves out the epsilon, so a constant group is NaN there).
 */
export const meanVarianceNormalization: OpDef = {
  op: 'MeanVarianceNormalization',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    reducedAxes(node, x.shape);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const xd = asFloat32(x, `MeanVarianceNormalization '${node.name}' input`);
    const group = groupIndex(x.shape, reducedAxes(node, x.shape));
    const groups = group.reduce((m, g) => Math.max(m, g + 1), 0);
    const [count, mean, sq] = [0, 1, 2].map(() => new Float64Array(groups)) as [
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    group.forEach((g, e) => {
      count[g]!++;
      mean[g]! += xd[e]!;
    });
    for (let g = 0; g < groups; g++) mean[g]! /= count[g]!;
    group.forEach((g, e) => {
      sq[g]! += (xd[e]! - mean[g]!) ** 2;
    });
    const y = Float32Array.from(xd, (v, e) => {
      const g = group[e]!;
      return (v - mean[g]!) / (Math.sqrt(sq[g]! / count[g]!) + EPSILON);
    });
    return [float32(x.shape, y)];
  },
};
