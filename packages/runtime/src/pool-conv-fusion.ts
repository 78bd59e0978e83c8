import { constantF32, type Graph, type GraphNode, readersOf } from './graph.js';
import { poolConvNode } from './ops/pool-conv.js';

/**
 * A 2-D MaxPool or AveragePool whose only reader is a 1×1 Conv with constant weights, reading it as X,
 * becomes one PoolConv: GoogLeNet's inception pool projections and the average-pool shortcuts of
 * Bi-Real and ResNet-D networks then run as one GPU dispatch each. Only 1×1 convs: a wider window
 * would pool each value again for every tap that reads it, and 3×3 convs mostly run Winograd, whose
 * input transform reads no pool.
 */
export function fusePoolConvs(g: Graph): Graph {
  const readers = readersOf(g);
  const byOutput = new Map(g.nodes.map((n) => [n.outputs[0]!, n]));
  const fused = new Map<GraphNode, GraphNode>();
  const dropped = new Set<GraphNode>();
  for (const c of g.nodes) {
    if (c.op !== 'Conv') continue;
    const pool = byOutput.get(c.inputs[0]!);
    const w = constantF32(g, c.inputs[1]);
    if (
      (pool?.op !== 'MaxPool' && pool?.op !== 'AveragePool') ||
      pool.outputs.filter((o) => o).length !== 1 ||
      // the conv alone, as X alone (not also as its residual), and not a graph output
      readers.get(pool.outputs[0]!)?.length !== 1 ||
      (pool.attrs.kernel_shape as readonly number[] | undefined)?.length !== 2 ||
      w?.shape.length !== 4 ||
      w.shape[2] !== 1 ||
      w.shape[3] !== 1
    )
      continue;
    fused.set(c, poolConvNode(pool, c));
    dropped.add(pool);
  }
  if (fused.size === 0) return g;
  return { ...g, nodes: g.nodes.filter((n) => !dropped.has(n)).map((n) => fused.get(n) ?? n) };
}
