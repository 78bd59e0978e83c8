import { attrNumber, freshNames, type Graph, type GraphNode, readersOf } from './graph.js';
import { float32, type Tensor } from './tensor.js';

// Passes that bring ONNX's int8 formats onto the float kernels. QOperator nodes (QLinearConv,
// QLinearMatMul) become DequantizeLinear → float Conv/MatMul → QuantizeLinear; foldConstants then
// turns the DequantizeLinear of constant weights and biases into float initializers, so that every
// conv and GEMM kernel, sparse ones included, takes them. Each QuantizeLinear → DequantizeLinear pair
// on activations becomes one FakeQuantize (exactly the pair, in f32), with dequantization first
// moved in front of the integer data movement between them (MaxPool, Reshape, …).
//
// Float accumulation differs from the integer accumulator ONNX Runtime requantizes: a value that
// lands within float rounding of a .5 boundary may quantize one step apart. Every other value is
// the same; see qdq-passes.test.ts for the tolerance this implies.

const node = (op: string, name: string, inputs: string[], outputs: string[], attrs = {}): GraphNode => ({
  op,
  name,
  inputs,
  outputs,
  attrs,
});

/** The constant x_scale·w_scale of a bias, per channel, or undefined when either scale is not constant. */
function biasScale(g: Graph, xScale: string, wScale: string): Tensor | undefined {
  const sx = g.initializers.get(xScale);
  const sw = g.initializers.get(wScale);
  if (sx?.dtype !== 'float32' || sw?.dtype !== 'float32' || sx.data.length !== 1) return undefined;
  // ONNX Runtime's quantizer stores biases as int32 with this scale (and zero point 0)
  return float32(
    [sw.data.length],
    Float32Array.from(sw.data, (s) => sx.data[0]! * s),
  );
}

/**
 * QLinearConv(x, sx, zx, w, sw, zw, sy, zy, B) → QuantizeLinear(Conv(DQ(x), DQ(w), DQ(B)), sy, zy),
 * and QLinearMatMul alike without a bias (a bias whose scales are not constant keeps its node as it
 * is); then dequantization moves in front of the integer data movement before it, so that shape
 * inference and the float kernels see floats there.
 */
export function expandQOperators(g: Graph): Graph {
  return dequantizeEarly(expandNodes(g));
}

function expandNodes(g: Graph): Graph {
  if (!g.nodes.some((n) => n.op === 'QLinearConv' || n.op === 'QLinearMatMul')) return g;
  const freshName = freshNames(g);
  const initializers = new Map(g.initializers);
  const nodes: GraphNode[] = [];
  for (const n of g.nodes) {
    const isConv = n.op === 'QLinearConv';
    if (!isConv && n.op !== 'QLinearMatMul') {
      nodes.push(n);
      continue;
    }
    const [x, sx, zx, w, sw, zw, sy, zy, b] = n.inputs;
    const bScale = b ? biasScale({ ...g, initializers }, sx!, sw!) : undefined;
    if (b && !bScale) {
      nodes.push(n);
      continue;
    }
    const fresh = (what: string) => freshName(`${n.name}/${what}`);
    const [xf, wf, yf] = [fresh('x'), fresh('w'), fresh('y')];
    nodes.push(node('DequantizeLinear', xf, [x!, sx!, zx ?? ''], [xf]));
    // per-channel weight scales run along the output channels: axis 0 of OIHW, 1 of [K, N]
    nodes.push(node('DequantizeLinear', wf, [w!, sw!, zw ?? ''], [wf], { axis: isConv ? 0 : 1 }));
    const floatInputs = [xf, wf];
    if (b && bScale) {
      const [bf, bs] = [fresh('b'), fresh('b_scale')];
      initializers.set(bs, bScale);
      nodes.push(node('DequantizeLinear', bf, [b, bs], [bf], { axis: 0 }));
      floatInputs.push(bf);
    }
    nodes.push(
      isConv
        ? node('Conv', `${n.name}/conv`, floatInputs, [yf], n.attrs)
        : node('MatMul', `${n.name}/matmul`, floatInputs, [yf]),
    );
    nodes.push(node('QuantizeLinear', n.name, [yf, sy!, zy ?? ''], [...n.outputs]));
  }
  return { ...g, nodes, initializers };
}

/** Ops that move or select integer values without computing on them: DequantizeLinear (per tensor, scale > 0) commutes with them. */
const COMMUTING = new Set(['MaxPool', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze']);

/** Whether a DequantizeLinear is per tensor, increasing (scale > 0), and its parameters constant. */
function constantIncreasing(g: Graph, dq: GraphNode): boolean {
  const s = g.initializers.get(dq.inputs[1] ?? '');
  const zero = dq.inputs[2];
  return (
    s?.dtype === 'float32' && s.data.length === 1 && s.data[0]! > 0 && (!zero || g.initializers.has(zero))
  );
}

/**
 * op(q) read only by DequantizeLinear nodes that dequantize alike becomes DequantizeLinear(q) → op on
 * floats, which those readers' readers take instead, until no such op is left.
 */
function dequantizeEarly(g: Graph): Graph {
  if (!g.nodes.some((n) => n.op === 'DequantizeLinear')) return g;
  let nodes = g.nodes;
  for (let changed = true; changed; ) {
    changed = false;
    const readers = readersOf({ ...g, nodes });
    for (const op of nodes) {
      const out = op.outputs[0] ?? '';
      const dqs = (readers.get(out) ?? []).flatMap((r) =>
        r !== 'output' && r.op === 'DequantizeLinear' ? [r] : [],
      );
      const first = dqs[0];
      if (
        !COMMUTING.has(op.op) ||
        first === undefined ||
        dqs.length !== readers.get(out)!.length ||
        op.outputs.slice(1).some((o) => o && readers.has(o)) ||
        !constantIncreasing(g, first) ||
        dqs.some((d) => !sameParams(g, first, d) || g.outputs.includes(d.outputs[0]!))
      )
        continue;
      // op's output name now holds its floats; the DQs' readers read it
      const float = freshNames({ ...g, nodes })(`${first.name}/x`);
      const moved: GraphNode = {
        ...first,
        inputs: [op.inputs[0]!, ...first.inputs.slice(1)],
        outputs: [float],
      };
      const after: GraphNode = { ...op, inputs: [float, ...op.inputs.slice(1)] };
      const renamed = new Map(dqs.map((d) => [d.outputs[0]!, out]));
      nodes = nodes.flatMap((n) => {
        if (n === op) return [moved, after];
        if (dqs.includes(n)) return [];
        return [{ ...n, inputs: n.inputs.map((i) => renamed.get(i) ?? i) }];
      });
      changed = true;
      break;
    }
  }
  return { ...g, nodes };
}

/** Whether two optional constant inputs hold the same values (both absent counts). */
function sameConstant(g: Graph, a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return !a && !b;
  if (a === b) return true;
  const [ta, tb] = [g.initializers.get(a), g.initializers.get(b)];
  return (
    !!ta &&
    !!tb &&
    ta.dtype === tb.dtype &&
    ta.shape.join() === tb.shape.join() &&
    ta.data.every((v, i) => v === tb.data[i])
  );
}

/** Whether two (de)quantizations take equal constant scales and zero points. */
function sameParams(g: Graph, a: GraphNode, b: GraphNode): boolean {
  return sameConstant(g, a.inputs[1], b.inputs[1]) && sameConstant(g, a.inputs[2], b.inputs[2]);
}

/** Whether a QuantizeLinear and a DequantizeLinear of its output quantize alike (constant scale and zero point, same axis). */
function samePair(g: Graph, q: GraphNode, dq: GraphNode): boolean {
  const scale = g.initializers.get(q.inputs[1] ?? '');
  const perAxis = !!scale && scale.data.length > 1;
  return (
    !!scale &&
    sameParams(g, q, dq) &&
    (!perAxis || attrNumber(q, 'axis', 1) === attrNumber(dq, 'axis', 1)) &&
    attrNumber(q, 'block_size', 0) === 0 &&
    attrNumber(q, 'output_dtype', 0) === 0
  );
}

/**
 * QuantizeLinear → DequantizeLinear on activations becomes FakeQuantize (after expandQOperators moved
 * dequantization in front of integer data movement). A QuantizeLinear whose integers something else
 * still reads stays.
 */
export function fuseFakeQuantize(g: Graph): Graph {
  if (!g.nodes.some((n) => n.op === 'QuantizeLinear')) return g;
  const producers = new Map<string, GraphNode>();
  for (const n of g.nodes) for (const o of n.outputs) producers.set(o, n);
  const nodes = g.nodes.map((n) => {
    const q = n.op === 'DequantizeLinear' ? producers.get(n.inputs[0] ?? '') : undefined;
    if (q?.op !== 'QuantizeLinear' || !samePair(g, q, n)) return n;
    return node('FakeQuantize', n.name, [q.inputs[0]!, ...q.inputs.slice(1)], [...n.outputs], {
      ...(q.attrs.axis !== undefined ? { axis: q.attrs.axis } : {}),
    });
  });
  // QuantizeLinear nodes no one reads any more go with removeUnused
  return { ...g, nodes };
}
