import { strides } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import type { Tensor } from '../tensor.js';
import { gatherFlat } from './expand.js';
import type { OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

/** The batch and time axes (attributes batch_axis, default 1, and time_axis, default 0), checked. */
function axes(
  node: GraphNode,
  x: Tensor | ValueInfo,
  lens: Tensor | ValueInfo,
): { batch: number; time: number } {
  const batch = attrNumber(node, 'batch_axis', 1);
  const time = attrNumber(node, 'time_axis', 0);
  if (x.shape.length < 2 || ![batch, time].every((a) => a === 0 || a === 1) || batch === time)
    throw new RuntimeError(
      'invalid-input',
      `ReverseSequence '${node.name}' has batch_axis ${batch} and time_axis ${time} on a rank-${x.shape.length} input; they must be 0 and 1, in either order, of an input of rank 2 or more.`,
    );
  if (lens.shape.join() !== `${x.shape[batch]}`)
    throw new RuntimeError(
      'invalid-input',
      `ReverseSequence '${node.name}' has sequence_lens of shape [${lens.shape.join(', ')}] for a batch of ${x.shape[batch]}; give one length per batch entry.`,
    );
  return { batch, time };
}

/** ReverseSequence: per batch entry b, the first sequence_lens[b] steps along the time axis reversed. */
export const reverseSequence: OpDef = {
  op: 'ReverseSequence',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    axes(node, x, need(node, inputs, 1));
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const lens = need(node, inputs, 1);
    const { batch, time } = axes(node, x, lens);
    const steps = x.shape[time]!;
    const bad = Array.from(lens.data).find((n) => !(n >= 0 && n <= steps));
    if (bad !== undefined)
      throw new RuntimeError(
        'invalid-input',
        `ReverseSequence '${node.name}' has a sequence length of ${bad} on a time axis of ${steps} steps; lengths must lie in [0, ${steps}].`,
      );
    const s = strides(x.shape);
    const source = Uint32Array.from({ length: x.data.length }, (_, e) => {
      const b = Math.floor(e / s[batch]!) % x.shape[batch]!;
      const t = Math.floor(e / s[time]!) % steps;
      const len = lens.data[b]!;
      return t < len ? e + (len - 1 - 2 * t) * s[time]! : e;
    });
    return [gatherFlat(x, x.shape, source)];
  },
};
