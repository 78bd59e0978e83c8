import { attrNumbers, attrString, type Graph, type GraphNode, readersOf } from './graph.js';
import { padsOf } from './ops/pad.js';

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
  const inputs = pad.inputs.map((i) => (i ? g.initializers.get(i) : undefined));
  const value = inputs[2];
  const zero = !pad.inputs[2] || (value?.data.length === 1 && Number(value.data[0]) === 0);
  if (
    !kernel ||
    attrString(pad, 'mode', 'constant') !== 'constant' ||
    !inputs[1] ||
    !zero ||
    (pad.inputs[3] && !inputs[3])
  )
    return undefined;
  const { before, after } = padsOf(pad, kernel.length + 2, inputs);
  // pads of the wrong length for the axes read as undefined
  const all = [...before, ...after];
  if (!all.every((p) => Number.isInteger(p) && p >= 0) || before[0] || before[1] || after[0] || after[1])
    return undefined;
  return { before: before.slice(2), after: after.slice(2) };
}
