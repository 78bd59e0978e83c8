import { strides } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import { sizeOf } from '../tensor.js';
import { encodeTile, gatherFlat } from './expand.js';
import type { OpDef } from './types.js';
import { known, need } from './util.js';

type Inputs = Parameters<OpDef['infer']>[1];

/** The repeat count per axis, checked against the input's rank. */
function repeats(node: GraphNode, inputs: Inputs): number[] {
  const rank = need(node, inputs, 0).shape.length;
  const r = known(node, inputs, 1, 'repeats');
  if (r.length !== rank || r.some((v) => v < 0))
    throw new RuntimeError(
      'invalid-input',
      `Tile '${node.name}' has repeats [${r.join(', ')}] for a rank-${rank} input; give one non-negative count per axis.`,
    );
  return r;
}

const tiledShape = (node: GraphNode, inputs: Inputs) => {
  const r = repeats(node, inputs);
  return need(node, inputs, 0).shape.map((d, a) => d * r[a]!);
};

export const tile: OpDef = {
  op: 'Tile',
  infer: (node, inputs) => [{ shape: tiledShape(node, inputs), dtype: need(node, inputs, 0).dtype }],
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const shape = tiledShape(node, inputs);
    const src = strides(x.shape);
    const dst = strides(shape);
    const index = new Uint32Array(sizeOf(shape));
    for (let e = 0; e < index.length; e++) {
      let at = 0;
      for (let d = 0; d < shape.length; d++)
        at += ((Math.floor(e / dst[d]!) % shape[d]!) % x.shape[d]!) * src[d]!;
      index[e] = at;
    }
    return [gatherFlat(x, shape, index)];
  },
  gpu: {
    plan: (node, inputs) =>
      inputs[0]?.dtype === 'float32' && inputs[1]?.value && sizeOf(tiledShape(node, inputs)) > 0
        ? { kernel: 'axis-gather' }
        : undefined,
    encode: (node, ctx) => [encodeTile(ctx, ctx.input(0), repeats(node, [ctx.inputs[0], ctx.host(1)]))],
  },
};
