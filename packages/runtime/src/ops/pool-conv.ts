import { RuntimeError } from '../errors.js';
import { type AttributeValue, attrString, type GraphNode } from '../graph.js';
import { conv, convGpu } from './conv.js';
import { poolOps } from './pool.js';
import { fusedPool, POOL_PREFIX, prefixedPoolAttrs } from './pool-window.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

// Zeroskip's own PoolConv (ONNX domain ai.zeroskip): a MaxPool or AveragePool whose only reader is a
// Conv, as one node, X → pool → Conv (fusePoolConvs makes it). The GPU's tiled implicit GEMM pools
// each window as it loads, so the pooled map is never written: one dispatch where there were two.
// Inputs: the Conv's, X being the pool's input. Attributes: the Conv's own (with its fused activation
// and residual input), input_pool (MaxPool or AveragePool), and the pool's with the prefix pool_.

const POOL_OPS = ['MaxPool', 'AveragePool'] as const;
const INPUT_POOL = 'input_pool';

/** The node that fuses `pool` and the Conv `convNode` reading its output as X. */
export function poolConvNode(pool: GraphNode, convNode: GraphNode): GraphNode {
  return {
    op: 'PoolConv',
    name: convNode.name,
    inputs: [pool.inputs[0]!, ...convNode.inputs.slice(1)],
    outputs: convNode.outputs,
    attrs: { ...convNode.attrs, [INPUT_POOL]: pool.op, ...prefixedPoolAttrs(pool) },
  };
}

/** The node's pool, writing `<output>__pooled`, and its Conv reading it. */
export function poolConvParts(node: GraphNode) {
  const pooled = `${node.outputs[0]}__pooled`;
  const op = attrString(node, INPUT_POOL, '');
  if (!(POOL_OPS as readonly string[]).includes(op))
    throw new RuntimeError(
      'invalid-model',
      `PoolConv node '${node.name}' needs its input_pool attribute to be MaxPool or AveragePool, got '${op}'.`,
    );
  const attrs: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(node.attrs))
    if (!k.startsWith(POOL_PREFIX) && k !== INPUT_POOL) attrs[k] = v;
  return {
    pool: fusedPool(node, node.inputs[0]!, op as (typeof POOL_OPS)[number], [pooled]),
    conv: {
      op: 'Conv',
      name: node.name,
      inputs: [pooled, ...node.inputs.slice(1)],
      outputs: node.outputs,
      attrs,
    },
  };
}

/** The pool op of a node that poolConvParts checked. */
const poolOp = (pool: GraphNode) => poolOps.find((o) => o.op === pool.op)!;

export const poolConv: OpDef = {
  op: 'PoolConv',
  infer(node, inputs, ctx) {
    const { pool, conv: c } = poolConvParts(node);
    const [p] = poolOp(pool).infer(pool, [need(node, inputs, 0)], ctx);
    return conv.infer(c, [p!, ...inputs.slice(1)], ctx);
  },
  run(node, inputs, ctx) {
    const { pool, conv: c } = poolConvParts(node);
    const [p] = poolOp(pool).run(pool, [need(node, inputs, 0)], ctx);
    return conv.run(c, [p!, ...inputs.slice(1)], ctx);
  },
  gpu: convGpu((node) => poolConvParts(node)),
};
