import { attrString, constantF32, type Graph, type GraphNode, readersOf } from './graph.js';
import { convPoolSignNode } from './ops/conv-pool-sign.js';

const SIGN_ATTRS = ['input_scale', 'input_shift'] as const;

/** The sign map a QuantConv with "sign" activations applies to its input (foldSignInputs), as JSON. */
const signMapKey = (q: GraphNode) => JSON.stringify(SIGN_ATTRS.map((k) => q.attrs[k] ?? null));

/**
 * Conv (constant weights and bias, one group, no residual) → MaxPool → QuantConvs with "sign"
 * activations, the pool's only readers, all with the same input sign map: the Conv, the pool and the
 * sign map become one ConvPoolSign, which the QuantConvs read as their ±1 input. A binary network's
 * float first layer then runs as one GPU dispatch writing packed signs, where it ran as a conv, a pool
 * and a pack over two full-size float tensors. Runs after foldSignInputs, which makes the sign maps.
 */
export function fuseConvPoolSign(g: Graph): Graph {
  const readers = readersOf(g);
  const byOutput = new Map(g.nodes.map((n) => [n.outputs[0]!, n]));
  const fused = new Map<GraphNode, GraphNode>();
  const signReaders = new Set<GraphNode>();
  const dropped = new Set<GraphNode>();
  for (const pool of g.nodes) {
    if (pool.op !== 'MaxPool' || pool.outputs.filter((o) => o).length !== 1) continue;
    const conv = byOutput.get(pool.inputs[0]!);
    const qs = readers.get(pool.outputs[0]!) ?? [];
    if (
      conv?.op !== 'Conv' ||
      conv.outputs.length !== 1 ||
      readers.get(conv.outputs[0]!)?.length !== 1 ||
      conv.inputs.length > 3 ||
      (conv.attrs.group ?? 1) !== 1 ||
      constantF32(g, conv.inputs[1])?.shape.length !== 4 ||
      (conv.inputs[2] && !constantF32(g, conv.inputs[2])) ||
      qs.length === 0
    )
      continue;
    const [first] = qs;
    if (
      !qs.every(
        (q) =>
          q !== 'output' &&
          q.op === 'QuantConv' &&
          // as X only: a Bi-Real block also reads its input as the float residual R
          q.inputs.lastIndexOf(pool.outputs[0]!) === 0 &&
          attrString(q, 'activations', '') === 'sign' &&
          signMapKey(q) === signMapKey(first as GraphNode),
      )
    )
      continue;
    const { input_scale: scale, input_shift: shift } = (first as GraphNode).attrs;
    fused.set(
      pool,
      convPoolSignNode(
        conv,
        pool,
        scale === undefined ? undefined : { scale: scale as number[], shift: shift as number[] },
      ),
    );
    dropped.add(conv);
    for (const q of qs as GraphNode[]) signReaders.add(q);
  }
  if (fused.size === 0) return g;
  return {
    ...g,
    nodes: g.nodes.flatMap((n) => {
      if (dropped.has(n)) return [];
      if (!signReaders.has(n)) return [fused.get(n) ?? n];
      const attrs = { ...n.attrs };
      for (const k of SIGN_ATTRS) delete attrs[k];
      return [{ ...n, attrs }];
    }),
  };
}
