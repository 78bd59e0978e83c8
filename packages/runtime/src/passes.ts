import { batchNormScaleShift } from '@zeroskip/gpu';
import { fuseConvPoolSign } from './conv-pool-sign-fusion.js';
import { attrNumber, freshNames, type Graph, type GraphNode, readersOf } from './graph.js';
import { builtInActivation } from './ops/activations.js';
import { usesBatchStatistics } from './ops/batch-normalization.js';
import { opDef } from './ops/registry.js';
import { foldPadsIntoConvs } from './pad-conv-fusion.js';
import { fusePoolConvs } from './pool-conv-fusion.js';
import { expandQOperators, fuseFakeQuantize } from './qdq-passes.js';
import { fuseQuantConvPool } from './quant-conv-pool-fusion.js';
import {
  binarizeSignConvs,
  foldQuantThresholds,
  foldSignInputs,
  fuseQuantEpilogues,
} from './quant-passes.js';
import { inferShapes } from './shape-inference.js';
import { asFloat32, float32, type Tensor } from './tensor.js';

/** How many nodes read each value (graph outputs count as readers). */
function readers(g: Graph): Map<string, number> {
  const count = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) count.set(i, (count.get(i) ?? 0) + 1);
  for (const o of g.outputs) count.set(o, (count.get(o) ?? 0) + 1);
  return count;
}

function rename(g: Graph, from: string, to: string): Graph {
  return {
    ...g,
    nodes: g.nodes.map((n) => ({ ...n, inputs: n.inputs.map((i) => (i === from ? to : i)) })),
    outputs: g.outputs.map((o) => (o === from ? to : o)),
  };
}

/** Drops Identity and Dropout (inference) by reading their input directly. */
export function removeIdentities(g: Graph): Graph {
  let out = g;
  for (const n of g.nodes) {
    if ((n.op === 'Identity' || n.op === 'Dropout') && n.inputs[0] && !g.outputs.includes(n.outputs[0]!)) {
      out = rename(
        { ...out, nodes: out.nodes.filter((m) => m !== n && m.name !== n.name) },
        n.outputs[0]!,
        n.inputs[0],
      );
    }
  }
  return out;
}

/**
 * Evaluates every node whose inputs are all constant (Constant nodes, arithmetic on constants) and,
 * when every input dimension is known, Shape and the shape arithmetic that follows it.
 */
export function foldConstants(g: Graph): Graph {
  const initializers = new Map(g.initializers);
  const nodes: GraphNode[] = [];
  const staticShapes = g.inputs.every((i) => i.shape.length > 0 && i.shape.every((d) => d > 0))
    ? inferShapes(g)
    : undefined;
  for (const n of g.nodes) {
    const shape = n.op === 'Shape' ? staticShapes?.get(n.outputs[0]!)?.value : undefined;
    if (shape) {
      initializers.set(n.outputs[0]!, shape);
      continue;
    }
    const constant =
      n.inputs.every((i) => i === '' || initializers.has(i)) && !n.outputs.some((o) => g.outputs.includes(o));
    if (constant && n.op !== 'Conv' && n.op !== 'Gemm') {
      const results = opDef(n.op).run(
        n,
        n.inputs.map((i) => (i === '' ? undefined : initializers.get(i))),
        g,
      );
      for (const [k, o] of n.outputs.entries()) initializers.set(o, results[k]!);
    } else nodes.push(n);
  }
  return { ...g, nodes, initializers };
}

/**
 * The layer whose output channels a BatchNormalization after it scales: a Conv (channel = output
 * channel, W's dimension 0) or a Gemm (channel = output column, B's row with transB, else its column),
 * with constant weights and bias; how each weight maps to its channel; and the bias as C is added.
 */
function foldTarget(
  layer: GraphNode,
  initializers: ReadonlyMap<string, Tensor>,
): { w: Tensor; channels: number; channelOf: (i: number) => number; bias?: Float32Array } | undefined {
  const w = initializers.get(layer.inputs[1] ?? '');
  const b = layer.inputs[2] ? initializers.get(layer.inputs[2]) : undefined;
  if (!w || (layer.inputs[2] && !b) || layer.outputs.length !== 1) return undefined;
  if (layer.op === 'Conv') {
    if (layer.inputs.length > 3) return undefined;
    const channels = w.shape[0]!;
    const per = w.data.length / channels;
    const bias = b ? asFloat32(b, 'Conv bias') : undefined;
    return { w, channels, channelOf: (i) => Math.floor(i / per), ...(bias ? { bias } : {}) };
  }
  if (layer.op !== 'Gemm' || w.shape.length !== 2 || attrNumber(layer, 'beta', 1) !== 1) return undefined;
  const transB = attrNumber(layer, 'transB', 0) === 1;
  const [rows, cols] = w.shape as [number, number];
  const channels = transB ? rows : cols;
  // C must not vary along the rows of the output: a scalar, [N] or [1, N]
  if (b && !(b.data.length === 1 || (b.data.length === channels && b.shape.at(-1) === channels)))
    return undefined;
  const bias = b ? asFloat32(b, 'Gemm bias') : undefined;
  return {
    w,
    channels,
    channelOf: transB ? (i) => Math.floor(i / cols) : (i) => i % cols,
    ...(bias ? { bias: bias.length === channels ? bias : new Float32Array(channels).fill(bias[0]!) } : {}),
  };
}

/**
 * Conv or Gemm followed by BatchNormalization (its only reader): W' = W·s per output channel,
 * b' = (b − mean)·s + β with s = γ/√(var + ε). An activation fused into the batch norm moves to the
 * layer (when the layer has none of its own).
 */
export function foldBatchNorm(g: Graph): Graph {
  const count = readers(g);
  const initializers = new Map(g.initializers);
  const byOutput = new Map(g.nodes.map((n) => [n.outputs[0]!, n]));
  const drop = new Set<GraphNode>();
  const replaced = new Map<GraphNode, GraphNode>();
  // two layers may share a weight tensor and each fold their own batch norm into it
  const fresh = freshNames(g);
  for (const bn of g.nodes) {
    if (bn.op !== 'BatchNormalization' || usesBatchStatistics(bn)) continue;
    const layer = byOutput.get(bn.inputs[0]!);
    const params = bn.inputs.slice(1, 5).map((i) => initializers.get(i));
    if (!layer || count.get(layer.outputs[0]!) !== 1 || params.some((p) => !p) || replaced.has(layer))
      continue;
    if (bn.attrs.activation !== undefined && layer.attrs.activation !== undefined) continue;
    const target = foldTarget(layer, initializers);
    if (!target) continue;
    const { w, channels, channelOf } = target;
    const [gamma, beta, mean, variance] = params.map((p) => asFloat32(p!, 'BatchNormalization parameter'));
    if (gamma!.length !== channels) continue;
    const { scale: s, shift } = batchNormScaleShift(
      gamma!,
      beta!,
      mean!,
      variance!,
      attrNumber(bn, 'epsilon', 1e-5),
    );
    const oldBias = target.bias ?? new Float32Array(channels);
    const wName = fresh(`${layer.inputs[1]}::bn`);
    const bName = fresh(`${layer.outputs[0]}::bias`);
    initializers.set(
      wName,
      float32(
        w.shape,
        asFloat32(w, `${layer.op} weights`).map((v, i) => v * s[channelOf(i)]!),
      ),
    );
    initializers.set(
      bName,
      float32(
        [channels],
        Float32Array.from({ length: channels }, (_, c) => oldBias[c]! * s[c]! + shift[c]!),
      ),
    );
    const attrs =
      bn.attrs.activation === undefined ? layer.attrs : { ...layer.attrs, activation: bn.attrs.activation };
    replaced.set(layer, {
      ...layer,
      inputs: [layer.inputs[0]!, wName, bName],
      outputs: [bn.outputs[0]!],
      attrs,
    });
    drop.add(bn);
  }
  const nodes = g.nodes.filter((n) => !drop.has(n)).map((n) => replaced.get(n) ?? n);
  return removeUnused({ ...g, nodes, initializers });
}

/** The ops whose kernels apply a fused activation in their own pass. */
const FUSES_ACTIVATION = new Set(['Conv', 'Gemm', 'BatchNormalization']);

/**
 * Conv, Gemm or BatchNormalization followed by a fusable activation (its only reader) becomes one node
 * with `activation` (a batch norm left after pooling runs with its ReLU in one pass).
 */
export function fuseActivations(g: Graph): Graph {
  const count = readers(g);
  const byOutput = new Map(g.nodes.map((n) => [n.outputs[0]!, n]));
  const drop = new Set<GraphNode>();
  const replaced = new Map<GraphNode, GraphNode>();
  for (const a of g.nodes) {
    const act = builtInActivation(a, (name) => g.initializers.get(name));
    const producer = byOutput.get(a.inputs[0]!);
    if (
      !act ||
      !producer ||
      !FUSES_ACTIVATION.has(producer.op) ||
      usesBatchStatistics(producer) ||
      producer.attrs.activation ||
      count.get(producer.outputs[0]!) !== 1
    )
      continue;
    const base = replaced.get(producer) ?? producer;
    replaced.set(producer, { ...base, outputs: [a.outputs[0]!], attrs: { ...base.attrs, activation: act } });
    drop.add(a);
  }
  return { ...g, nodes: g.nodes.filter((n) => !drop.has(n)).map((n) => replaced.get(n) ?? n) };
}

/**
 * Conv followed by an Add of a computed tensor, the conv's only reader (a ResNet shortcut), becomes one
 * Conv reading that tensor as a fourth input, in the Add's place (the tensor may be computed after the
 * conv). fuseActivations then takes the activation after the Add, so the shortcut's add and ReLU run in
 * the conv's epilogue instead of two passes over the output.
 */
export function fuseResidualAdds(g: Graph): Graph {
  const count = readers(g);
  const byOutput = new Map(g.nodes.map((n) => [n.outputs[0]!, n]));
  const fusable = (conv: GraphNode | undefined): conv is GraphNode =>
    conv?.op === 'Conv' &&
    conv.inputs.length <= 3 &&
    !conv.attrs.activation &&
    count.get(conv.outputs[0]!) === 1;
  const drop = new Set<GraphNode>();
  const replaced = new Map<GraphNode, GraphNode>();
  for (const add of g.nodes) {
    if (add.op !== 'Add' || add.inputs.length !== 2 || add.inputs[0] === add.inputs[1]) continue;
    // a constant addend is a bias for foldConstants and friends, not a shortcut
    const at = [0, 1].find(
      (i) => fusable(byOutput.get(add.inputs[i]!)) && !g.initializers.has(add.inputs[1 - i]!),
    );
    if (at === undefined) continue;
    const conv = byOutput.get(add.inputs[at]!)!;
    const [x, w, b] = conv.inputs;
    replaced.set(add, { ...conv, inputs: [x!, w!, b ?? '', add.inputs[1 - at]!], outputs: add.outputs });
    drop.add(conv);
  }
  return { ...g, nodes: g.nodes.filter((n) => !drop.has(n)).map((n) => replaced.get(n) ?? n) };
}

/** Removes nodes whose outputs nothing reads, and initializers no node reads. */
export function removeUnused(g: Graph): Graph {
  const needed = new Set(g.outputs);
  const nodes: GraphNode[] = [];
  for (const n of [...g.nodes].reverse()) {
    if (n.outputs.some((o) => needed.has(o))) {
      nodes.unshift(n);
      for (const i of n.inputs) needed.add(i);
    }
  }
  return { ...g, nodes, initializers: new Map([...g.initializers].filter(([k]) => needed.has(k))) };
}

/**
 * A batch norm's statistics outputs that nothing reads become absent, so that the GPU runs a batch norm
 * in training mode as the normalization alone.
 */
export function dropUnreadStatistics(g: Graph): Graph {
  const read = readersOf(g);
  const unread = (o: string, i: number) => i > 0 && !read.has(o);
  return {
    ...g,
    nodes: g.nodes.map((n) =>
      n.op === 'BatchNormalization' && n.outputs.some((o, i) => o && unread(o, i))
        ? { ...n, outputs: n.outputs.map((o, i) => (unread(o, i) ? '' : o)) }
        : n,
    ),
  };
}

/** The standard pipeline, in order. */
export function optimize(g: Graph): Graph {
  // int8 QOperator nodes become float ones between (de)quantizations, whose constant weights fold to float
  // a zero Pad in front of a conv (TensorFlow's 'SAME') becomes the conv's own padding
  const dequantized = fuseFakeQuantize(
    foldPadsIntoConvs(foldConstants(expandQOperators(removeIdentities(g)))),
  );
  // the quantized-layer passes take their batch norms before foldBatchNorm and fusion can
  const quantized = foldQuantThresholds(binarizeSignConvs(dequantized));
  // binary blocks take their residual adds first: their fused epilogue also packs the next conv's signs
  // a float first layer then takes the sign maps that foldSignInputs gave the binary layer after it,
  // and layers with code outputs take the max pools of their codes
  const fused = fuseQuantConvPool(
    fuseConvPoolSign(fuseQuantEpilogues(foldSignInputs(fuseActivations(foldBatchNorm(quantized))))),
  );
  // a pool read only by a 1×1 conv goes into it last, once the conv holds its activation and residual
  return dropUnreadStatistics(removeUnused(fusePoolConvs(fuseActivations(fuseResidualAdds(fused)))));
}
