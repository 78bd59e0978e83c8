import { encodeChannelAffine, encodeLayerNorm } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber } from '../graph.js';
import { asFloat32, float32, sizeOf } from '../tensor.js';
import { standardize } from './layer-normalization.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

/**
 * GroupNormalization of [N, C, D1, …]: the channels of each sample split into num_groups groups,
 * each standardised over its channels and D1…; then an affine per channel (opset 21) or, in opset
 * 18, per group.
 */
export const groupNormalization: OpDef = {
  op: 'GroupNormalization',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  run(node, inputs, ctx) {
    const x = need(node, inputs, 0);
    const groups = attrNumber(node, 'num_groups', 0);
    const [scale, bias] = [1, 2].map((i) =>
      asFloat32(need(node, inputs, i), `GroupNormalization '${node.name}' parameter`),
    ) as [Float32Array, Float32Array];
    const c = x.shape[1] ?? 0;
    const perChannel = ctx.opset >= 21;
    const params = perChannel ? c : groups;
    if (
      x.shape.length < 3 ||
      groups < 1 ||
      c % groups !== 0 ||
      scale.length !== params ||
      bias.length !== params
    )
      throw new RuntimeError(
        'invalid-input',
        `node '${node.name}' (GroupNormalization) needs an input of rank ≥ 3 whose ${c} channels split into num_groups = ${groups} groups, and a scale and bias of ${perChannel ? 'its channels' : 'num_groups values'} (${params}); got input [${x.shape.join(', ')}], ${scale.length} scales and ${bias.length} biases.`,
      );
    const inner = sizeOf(x.shape.slice(2));
    const { y } = standardize(
      asFloat32(x, `GroupNormalization '${node.name}' input`),
      x.shape[0]! * groups,
      attrNumber(node, 'epsilon', 1e-5),
    );
    for (let e = 0; e < y.length; e++) {
      const ch = Math.floor(e / inner) % c;
      const p = perChannel ? ch : Math.floor(ch / (c / groups));
      y[e] = y[e]! * scale[p]! + bias[p]!;
    }
    return [float32(x.shape, y)];
  },
  gpu: {
    plan: (_node, inputs) =>
      inputs.every((v) => v?.dtype === 'float32') ? { kernel: 'group-norm' } : undefined,
    // standardise each group as a layer norm with unit scale, then the affine per channel (or per group)
    encode(node, ctx, outputs) {
      const x = ctx.input(0);
      const groups = attrNumber(node, 'num_groups', 0);
      const [n, c] = x.shape as [number, number];
      const len = x.size / (n * groups);
      const { one } = ctx.cached('one', () => {
        const t = ctx.gpu.tensor([1], Float32Array.of(1));
        return { one: t, destroy: () => ctx.gpu.release(t) };
      });
      const normed = ctx.empty([n * groups, len]);
      encodeLayerNorm(
        ctx.r,
        { ...x, shape: [n * groups, len] },
        one,
        undefined,
        normed,
        -1,
        attrNumber(node, 'epsilon', 1e-5),
      );
      const y = ctx.empty(outputs[0]!.shape);
      const [channels, inner] = ctx.opset >= 21 ? [c, x.size / (n * c)] : [groups, len];
      encodeChannelAffine(ctx.r, normed, ctx.input(1), ctx.input(2), y, channels, inner, 'none');
      ctx.gpu.release(normed);
      return [y];
    },
  },
};
