import { encodePadNd, MAX_PAD_RANK, PAD_MODES, type PadMode, strides } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrString, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { sizeOf, type Tensor, tensor } from '../tensor.js';
import type { OpDef, ValueInfo } from './types.js';
import { known, need } from './util.js';

/** Pads before and after each axis (inputs pads and axes; import rewrites Pad-2's attributes into inputs). */
export function padsOf(node: GraphNode, rank: number, inputs: readonly (Tensor | ValueInfo | undefined)[]) {
  const pads = known(node, inputs, 1, 'pads');
  const axes = inputs[3]
    ? known(node, inputs, 3, 'axes').map((a) => normAxis(a, rank, node))
    : Array.from({ length: rank }, (_, i) => i);
  const before = Array<number>(rank).fill(0);
  const after = Array<number>(rank).fill(0);
  axes.forEach((a, i) => {
    before[a] = pads[i]!;
    after[a] = pads[i + axes.length]!;
  });
  return { before, after };
}

export const pad: OpDef = {
  op: 'Pad',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    const { before, after } = padsOf(node, x.shape.length, inputs);
    return [{ shape: x.shape.map((d, i) => d + before[i]! + after[i]!), dtype: x.dtype }];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const rank = x.shape.length;
    const { before, after } = padsOf(node, rank, inputs);
    const value = inputs[2]?.data[0] ?? 0;
    const mode = attrString(node, 'mode', 'constant') as PadMode;
    if (!PAD_MODES.includes(mode))
      throw new RuntimeError(
        'unsupported-op',
        `Pad mode '${mode}' (node '${node.name}') is not supported; use ${PAD_MODES.join(', ')}.`,
      );
    const shape = x.shape.map((d, i) => d + before[i]! + after[i]!);
    const so = strides(shape);
    const si = strides(x.shape);
    const data = new (x.data.constructor as Float32ArrayConstructor)(sizeOf(shape));
    for (let e = 0; e < data.length; e++) {
      let src = 0;
      let inside = true;
      for (let d = 0; d < rank; d++) {
        const n = x.shape[d]!;
        let i = (Math.floor(e / so[d]!) % shape[d]!) - before[d]!;
        if (i < 0 || i >= n) {
          if (mode === 'constant') inside = false;
          else if (mode === 'edge') i = Math.min(Math.max(i, 0), n - 1);
          else if (mode === 'wrap') i = ((i % n) + n) % n;
          else {
            // reflect without repeating the edge, folding back and forth as often as needed
            const period = 2 * (n - 1);
            const m = period === 0 ? 0 : ((i % period) + period) % period;
            i = m < n ? m : period - m;
          }
        }
        src += i * si[d]!;
      }
      data[e] = inside ? x.data[src]! : value;
    }
    return [tensor(x.dtype, shape, data)];
  },
  gpu: {
    // float32 with known pads that only grow the tensor; negative pads (crops) stay on the CPU
    plan(node, inputs) {
      const x = inputs[0];
      if (x?.dtype !== 'float32' || x.shape.length > MAX_PAD_RANK || sizeOf(x.shape) === 0) return undefined;
      if (!PAD_MODES.includes(attrString(node, 'mode', 'constant') as PadMode)) return undefined;
      if (!inputs[1]?.value || (inputs[2] && !inputs[2].value) || (inputs[3] && !inputs[3].value))
        return undefined;
      const { before, after } = padsOf(node, x.shape.length, inputs);
      return [...before, ...after].every((p) => p >= 0) ? { kernel: 'pad' } : undefined;
    },
    encode(node, ctx, outputs) {
      const x = ctx.input(0);
      const y = ctx.empty(outputs[0]!.shape);
      encodePadNd(ctx.r, x, y, {
        ...padsOf(node, x.shape.length, ctx.inputs),
        mode: attrString(node, 'mode', 'constant') as PadMode,
        value: Number(ctx.host(2)?.data[0] ?? 0),
      });
      return [y];
    },
  },
};
