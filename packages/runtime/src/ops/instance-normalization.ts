import { encodeInstanceNorm, instanceNormReference } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { asFloat32, float32, type Tensor } from '../tensor.js';
import type { OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

function check(node: GraphNode, inputs: readonly (Tensor | ValueInfo | undefined)[]): void {
  const x = need(node, inputs, 0).shape;
  const [scale, bias] = [need(node, inputs, 1).shape, need(node, inputs, 2).shape];
  const c = x[1] ?? 0;
  if (x.length < 3 || scale.join() !== `${c}` || bias.join() !== `${c}`)
    throw new RuntimeError(
      'invalid-input',
      `node '${node.name}' (InstanceNormalization) needs an [N, C, …] input and a scale and bias of its C channels; got [${x.join(', ')}], [${scale.join(', ')}] and [${bias.join(', ')}].`,
    );
}

/** InstanceNormalization of [N, C, D1, …]: each (n, c) standardised over D1…, then · scale[c] + B[c]. */
export const instanceNormalization: OpDef = {
  op: 'InstanceNormalization',
  infer(node, inputs) {
    check(node, inputs);
    const x = need(node, inputs, 0);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  run(node, inputs) {
    check(node, inputs);
    const [x, scale, bias] = [0, 1, 2].map((i) =>
      asFloat32(need(node, inputs, i), `InstanceNormalization '${node.name}' input ${i}`),
    ) as [Float32Array, Float32Array, Float32Array];
    const shape = need(node, inputs, 0).shape;
    return [float32(shape, instanceNormReference(x, shape, scale, bias, attrNumber(node, 'epsilon', 1e-5)))];
  },
  gpu: {
    plan: (_node, inputs) =>
      inputs.every((v) => v?.dtype === 'float32') ? { kernel: 'instance-norm' } : undefined,
    encode(node, ctx, outputs) {
      const y = ctx.empty(outputs[0]!.shape);
      encodeInstanceNorm(
        ctx.r,
        ctx.input(0),
        ctx.input(1),
        ctx.input(2),
        y,
        attrNumber(node, 'epsilon', 1e-5),
      );
      return [y];
    },
  },
};
