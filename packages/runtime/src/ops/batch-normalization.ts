import { applyActivation, batchNormScaleShift, encodeChannelAffine } from '@zeroskip/gpu';
import { attrNumber } from '../graph.js';
import { asFloat32, float32, sizeOf } from '../tensor.js';
import { fusedActivation } from './conv.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

const PARAMS = [1, 2, 3, 4] as const;

export const batchNormalization: OpDef = {
  op: 'BatchNormalization',
  infer: (node, inputs) => [{ shape: need(node, inputs, 0).shape, dtype: 'float32' }],
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const [g, b, m, v] = PARAMS.map((i) => asFloat32(need(node, inputs, i), 'BatchNormalization parameter'));
    const { scale, shift } = batchNormScaleShift(g!, b!, m!, v!, attrNumber(node, 'epsilon', 1e-5));
    const c = x.shape[1] ?? 1;
    const spatial = sizeOf(x.shape.slice(2));
    const act = fusedActivation(node);
    return [
      float32(
        x.shape,
        asFloat32(x, 'BatchNormalization input').map((val, e) => {
          const ch = Math.floor(e / spatial) % c;
          return applyActivation(val * scale[ch]! + shift[ch]!, act);
        }),
      ),
    ];
  },
  gpu: {
    plan(node, inputs, ctx) {
      const constant = PARAMS.every((i) => ctx.constant(node.inputs[i] ?? '')?.dtype === 'float32');
      return constant && inputs[0]?.dtype === 'float32' ? { kernel: 'channel-affine' } : undefined;
    },
    encode(node, ctx) {
      const x = ctx.input(0);
      const { scale, shift } = ctx.cached('scale-shift', () => {
        const [g, b, m, v] = PARAMS.map((i) => ctx.constant(node.inputs[i]!)!.data as Float32Array);
        const p = batchNormScaleShift(g!, b!, m!, v!, attrNumber(node, 'epsilon', 1e-5));
        const t = {
          scale: ctx.gpu.tensor([p.scale.length], p.scale),
          shift: ctx.gpu.tensor([p.shift.length], p.shift),
        };
        return {
          ...t,
          destroy: () => {
            ctx.gpu.release(t.scale);
            ctx.gpu.release(t.shift);
          },
        };
      });
      const y = ctx.empty(x.shape);
      const channels = x.shape[1] ?? 1;
      encodeChannelAffine(
        ctx.r,
        x,
        scale,
        shift,
        y,
        channels,
        sizeOf(x.shape.slice(2)),
        fusedActivation(node),
      );
      return [y];
    },
  },
};
