import { attrNumber, type Graph, type GraphNode } from './graph.js';
import type { ValueInfo } from './ops/types.js';
import { normAxis } from './shapes.js';

/** What the placement needs of a node's plan. */
export interface PlacedNode {
  readonly node: GraphNode;
  /** Whether the node runs on the GPU. */
  readonly onGpu: boolean;
  /** Whether its encoder can write output 0 into channels of a larger tensor (GpuPlan.writesInto). */
  readonly writesInto: boolean;
  /** Whether output 0 is held bit-packed (then it is not a float32 slice). */
  readonly packed: boolean;
}

/** Where a node's output 0 goes: channels [channel, …) of the Concat output `concat`. */
export interface ConcatSlot {
  readonly concat: string;
  readonly channel: number;
}

/**
 * Concats over channels (axis 1) that the GPU runs and whose every input is output 0 of a GPU node
 * that can write into a slice, read by nothing else (no other node, not a graph output): those nodes
 * write straight into the Concat's output, which is made when its first input is recorded, and the
 * Concat itself copies nothing (Inception and SqueezeNet blocks end in one). Returns each such
 * input's slot, and the Concats done in place.
 */
export function placeConcats(
  graph: Graph,
  nodes: readonly PlacedNode[],
  info: ReadonlyMap<string, ValueInfo>,
): { slots: Map<string, ConcatSlot>; inPlace: Set<GraphNode> } {
  const readers = new Map<string, number>();
  for (const n of graph.nodes) for (const v of n.inputs) readers.set(v, (readers.get(v) ?? 0) + 1);
  for (const o of graph.outputs) readers.set(o, (readers.get(o) ?? 0) + 1);
  const producers = new Map(nodes.map((p) => [p.node.outputs[0]!, p]));
  const slots = new Map<string, ConcatSlot>();
  const inPlace = new Set<GraphNode>();
  for (const c of nodes) {
    const n = c.node;
    const out = info.get(n.outputs[0]!);
    if (n.op !== 'Concat' || !c.onGpu || out?.dtype !== 'float32') continue;
    if (normAxis(attrNumber(n, 'axis', 0), out.shape.length, n) !== 1) continue;
    const fits = n.inputs.every((v) => {
      const p = producers.get(v);
      return p?.onGpu && p.writesInto && !p.packed && readers.get(v) === 1;
    });
    if (!fits || new Set(n.inputs).size !== n.inputs.length) continue;
    let channel = 0;
    for (const v of n.inputs) {
      slots.set(v, { concat: n.outputs[0]!, channel });
      channel += info.get(v)!.shape[1]!;
    }
    inPlace.add(n);
  }
  return { slots, inPlace };
}
