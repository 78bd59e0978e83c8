import { attrString, type Graph, type GraphNode, readersOf } from './graph.js';
import { holdsPool, prefixedPoolAttrs } from './ops/pool-window.js';

/** QuantConv outputs that are codes: the max of codes is the code of the max. */
const CODE_OUTPUTS = ['sign', 'bits'];

/**
 * QuantConv with a "sign" or "bits" output → MaxPool, the pool the conv's only reader: the pool becomes
 * the QuantConv's own (its attributes with the prefix pool_), and the QuantConv writes the pool's
 * output. The GPU then pools the packed codes in the conv's dispatch, where it ran a pool dispatch
 * over them (conv → pool → BN → sign, a binary network's usual block, after foldQuantThresholds).
 */
export function fuseQuantConvPool(g: Graph): Graph {
  const readers = readersOf(g);
  const byOutput = new Map(g.nodes.map((n) => [n.outputs[0]!, n]));
  const fused = new Map<GraphNode, GraphNode>();
  const dropped = new Set<GraphNode>();
  for (const pool of g.nodes) {
    if (pool.op !== 'MaxPool' || !pool.outputs[0] || pool.outputs.filter((o) => o).length !== 1) continue;
    const conv = byOutput.get(pool.inputs[0]!);
    if (
      conv?.op !== 'QuantConv' ||
      conv.outputs.length !== 1 ||
      holdsPool(conv) ||
      !CODE_OUTPUTS.includes(attrString(conv, 'output', '')) ||
      readers.get(conv.outputs[0]!)?.length !== 1
    )
      continue;
    fused.set(pool, {
      ...conv,
      outputs: [pool.outputs[0]],
      attrs: { ...conv.attrs, ...prefixedPoolAttrs(pool) },
    });
    dropped.add(conv);
  }
  if (fused.size === 0) return g;
  return { ...g, nodes: g.nodes.flatMap((n) => (dropped.has(n) ? [] : [fused.get(n) ?? n])) };
}
