import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import { flattenShape, reshapeShape, squeezeShape, unsqueezeShape } from '../shapes.js';
import { type Tensor, tensor } from '../tensor.js';
import type { OpDef, ValueInfo } from './types.js';
import { known, need } from './util.js';

// Ops that only relabel a tensor's shape: the same data, on the CPU and as views of the same GPU buffer.

type Rule = (node: GraphNode, inputs: readonly (Tensor | ValueInfo | undefined)[]) => readonly number[];

const optionalAxes = (node: GraphNode, inputs: readonly (Tensor | ValueInfo | undefined)[]) =>
  inputs[1] ? known(node, inputs, 1, 'axes') : undefined;

function view(op: string, rule: Rule): OpDef {
  return {
    op,
    infer: (node, inputs) => [{ shape: rule(node, inputs), dtype: need(node, inputs, 0).dtype }],
    run(node, inputs) {
      const x = need(node, inputs, 0);
      return [tensor(x.dtype, rule(node, inputs), x.data)];
    },
    gpu: {
      plan: (_node, inputs) => (inputs[0]?.dtype === 'float32' ? { kernel: 'view' } : undefined),
      encode: (_node, ctx, outputs) => [{ ...ctx.input(0), shape: [...outputs[0]!.shape] }],
    },
  };
}

const same: Rule = (node, inputs) => need(node, inputs, 0).shape;

export const viewOps: readonly OpDef[] = [
  view('Flatten', (node, inputs) => flattenShape(need(node, inputs, 0).shape, node)),
  view('Reshape', (node, inputs) =>
    reshapeShape(need(node, inputs, 0).shape, known(node, inputs, 1, 'shape'), node),
  ),
  view('Squeeze', (node, inputs) =>
    squeezeShape(need(node, inputs, 0).shape, optionalAxes(node, inputs), node),
  ),
  view('Unsqueeze', (node, inputs) => {
    const axes = optionalAxes(node, inputs);
    if (!axes) throw new RuntimeError('invalid-model', `Unsqueeze '${node.name}' has no axes input.`);
    return unsqueezeShape(need(node, inputs, 0).shape, axes, node);
  }),
  view('Identity', same),
  view('Dropout', same),
];
