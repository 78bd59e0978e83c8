import { attrNumbers, attrString, type Graph, type GraphNode, readersOf } from './graph.js';
import { normAxis } from './shapes.js';

/**
 * A Pad that adds zeros around the spatial axes only, read by nothing but a Conv as its X, goes into
 * that conv's pads. TensorFlow's asymmetric 'SAME' padding arrives this way (tf2onnx, timm's `tf_`
 * models): the pass saves the padded copy and its dispatch, and the conv pads as it reads.
 */
export function foldPadsIntoConvs(g: Graph): Graph {
  const readers = readersOf(g);
  const byOutput = new Map(g.nodes.map((n) => [n.outputs[0]!, n]));
  const folded = new Map<GraphNode, GraphNode>();
  const dropped = new Set<GraphNode>();
  for (const conv of g.nodes) {
    if (conv.op !== 'Conv' || attrString(conv, 'auto_pad', 'NOTSET') !== 'NOTSET') continue;
    const pad = byOutput.get(conv.inputs[0]!);
    if (pad?.op !== 'Pad' || readers.get(pad.outputs[0]!)?.length !== 1) continue;
    const spatial = spatialPads(g, pad, conv);
    if (!spatial) continue;
    const own = attrNumbers(conv, 'pads') ?? Array<number>(2 * spatial.before.length).fill(0);
    const r = spatial.before.length;
    folded.set(conv, {
      ...conv,
      inputs: [pad.inputs[0]!, ...conv.inputs.slice(1)],
      attrs: {
        ...conv.attrs,
        pads: own.map((p, i) => p + (i < r ? spatial.before[i]! : spatial.after[i - r]!)),
      },
    });
    dropped.add(pad);
  }
  if (folded.size === 0) return g;
  return { ...g, nodes: g.nodes.filter((n) => !dropped.has(n)).map((n) => folded.get(n) ?? n) };
}

/**
 * A Pad's zeros before and after each spatial axis of the conv it feeds, or undefined unless it is a
 * constant-mode Pad of known, non-negative pads, with a zero (or absent) value, that leaves the batch
 * and channel axes alone.
 */
function spatialPads(
  g: Graph,
  pad: GraphNode,
  conv: GraphNode,
): { before: number[]; after: number[] } | undefined {
  const kernel = attrNumbers(conv, 'kernel_shape') ?? g.initializers.get(conv.inputs[1]!)?.shape.slice(2);
  const pads = g.initializers.get(pad.inputs[1] ?? '');
  const value = pad.inputs[2] ? g.initializers.get(pad.inputs[2]) : undefined;
  const zero = !pad.inputs[2] || (value?.data.length === 1 && Number(value.data[0]) === 0);
  const axesIn = pad.inputs[3] ? g.initializers.get(pad.inputs[3]) : undefined;
  if (
    !kernel ||
    attrString(pad, 'mode', 'constant') !== 'constant' ||
    pads?.dtype !== 'int64' ||
    !zero ||
    (pad.inputs[3] && axesIn?.dtype !== 'int64')
  )
    return undefined;
  const rank = kernel.length + 2;
  const axes = axesIn
    ? Array.from(axesIn.data, (a) => normAxis(Number(a), rank, pad))
    : Array.from({ length: rank }, (_, i) => i);
  if (pads.data.length !== 2 * axes.length) return undefined;
  const before = Array<number>(rank).fill(0);
  const after = Array<number>(rank).fill(0);
  axes.forEach((a, i) => {
    before[a] = Number(pads.data[i]);
    after[a] = Number(pads.data[i + axes.length]);
  });
  if ([...before, ...after].some((p) => p < 0) || before[0] || before[1] || after[0] || after[1])
    return undefined;
  return { before: before.slice(2), after: after.slice(2) };
}
