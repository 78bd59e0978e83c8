import { batchNormScaleShift } from '@zeroskip/gpu';
import type { Graph, GraphNode } from './graph.js';
import { builtInActivation } from './ops/activations.js';
import { opDef } from './ops/registry.js';
import { expandQOperators, fuseFakeQuantize } from './qdq-passes.js';
import {
  binarizeSignConvs,
  foldQuantThresholds,
  foldSignInputs,
  fuseQuantEpilogues,
} from './quant-passes.js';
import { inferShapes } from './shape-inference.js';
import { asFloat32, float32 } from './tensor.js';

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

/** Conv followed by BatchNormalization (its only reader): W' = W·s, b' = (b − mean)·s + β, s = γ/√(var + ε). */
export function foldBatchNorm(g: Graph): Graph {
  const count = readers(g);
  const initializers = new Map(g.initializers);
  const byOutput = new Map(g.nodes.map((n) => [n.outputs[0]!, n]));
  const drop = new Set<GraphNode>();
  const replaced = new Map<GraphNode, GraphNode>();
  for (const bn of g.nodes) {
    if (bn.op !== 'BatchNormalization') continue;
    const conv = byOutput.get(bn.inputs[0]!);
    const params = bn.inputs.slice(1, 5).map((i) => initializers.get(i));
    if (conv?.op !== 'Conv' || count.get(conv.outputs[0]!) !== 1 || params.some((p) => !p)) continue;
    const w = initializers.get(conv.inputs[1]!);
    if (!w || (conv.inputs[2] && !initializers.has(conv.inputs[2]))) continue;
    const [gamma, beta, mean, variance] = params.map((p) => asFloat32(p!, 'BatchNormalization parameter'));
    const eps = typeof bn.attrs.epsilon === 'number' ? bn.attrs.epsilon : 1e-5;
    const o = w.shape[0]!;
    const per = w.data.length / o;
    const { scale: s, shift } = batchNormScaleShift(gamma!, beta!, mean!, variance!, eps);
    const oldBias = conv.inputs[2]
      ? asFloat32(initializers.get(conv.inputs[2])!, 'Conv bias')
      : new Float32Array(o);
    const wName = `${conv.inputs[1]}::bn`;
    const bName = `${conv.outputs[0]}::bias`;
    initializers.set(
      wName,
      float32(
        w.shape,
        asFloat32(w, 'Conv weights').map((v, i) => v * s[Math.floor(i / per)]!),
      ),
    );
    initializers.set(
      bName,
      float32(
        [o],
        Float32Array.from({ length: o }, (_, c) => oldBias[c]! * s[c]! + shift[c]!),
      ),
    );
    replaced.set(conv, { ...conv, inputs: [conv.inputs[0]!, wName, bName], outputs: [bn.outputs[0]!] });
    drop.add(bn);
  }
  const nodes = g.nodes.filter((n) => !drop.has(n)).map((n) => replaced.get(n) ?? n);
  return removeUnused({ ...g, nodes, initializers });
}

/** Conv or Gemm followed by a fusable activation (its only reader) becomes one node with `activation`. */
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
      (producer.op !== 'Conv' && producer.op !== 'Gemm') ||
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

/** The standard pipeline, in order. */
export function optimize(g: Graph): Graph {
  // int8 QOperator nodes become float ones between (de)quantizations, whose constant weights fold to float
  const dequantized = fuseFakeQuantize(foldConstants(expandQOperators(removeIdentities(g))));
  // the quantized-layer passes take their batch norms before foldBatchNorm and fusion can
  const quantized = foldQuantThresholds(binarizeSignConvs(dequantized));
  // binary blocks take their residual adds first: their fused epilogue also packs the next conv's signs
  const fused = fuseQuantEpilogues(foldSignInputs(fuseActivations(foldBatchNorm(quantized))));
  return removeUnused(fuseActivations(fuseResidualAdds(fused)));
}
