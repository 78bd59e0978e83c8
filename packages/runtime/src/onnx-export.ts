import onnxProto from 'onnx-proto';
import { RuntimeError } from './errors.js';
import type { AttributeValue, Graph, GraphNode } from './graph.js';
import { float32, type Tensor } from './tensor.js';

const { onnx } = onnxProto;

/** Attributes ONNX types as floats; every other numeric attribute of the supported ops is an integer. */
export const FLOAT_ATTRS: ReadonlySet<string> = new Set([
  'alpha',
  'beta',
  'epsilon',
  'momentum',
  'min',
  'max',
  'value_float',
  'value_floats',
  'gamma',
  'bias',
  'lambd',
]);

function tensorProto(name: string, t: Tensor): onnxProto.onnx.ITensorProto {
  const T = onnx.TensorProto.DataType;
  const dataType =
    t.dtype === 'float32' ? T.FLOAT : t.dtype === 'int64' ? T.INT64 : t.dtype === 'bool' ? T.BOOL : T.UINT8;
  const raw =
    t.dtype === 'float32'
      ? new Uint8Array(Float32Array.from(t.data).buffer)
      : t.dtype === 'int64'
        ? new Uint8Array(BigInt64Array.from(t.data, (v) => BigInt(v)).buffer)
        : Uint8Array.from(t.data);
  return { name, dims: [...t.shape], dataType, rawData: raw };
}

/** An ONNX attribute, typed by its JS type; a number is a float when `floatNames` holds its name. */
export function attribute(
  name: string,
  v: AttributeValue,
  floatNames: ReadonlySet<string> = FLOAT_ATTRS,
): onnxProto.onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number')
    return floatNames.has(name) ? { name, type: A.FLOAT, f: v } : { name, type: A.INT, i: v };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string'))
      return { name, type: A.STRINGS, strings: (v as string[]).map((x) => new TextEncoder().encode(x)) };
    return floatNames.has(name)
      ? { name, type: A.FLOATS, floats: v as number[] }
      : { name, type: A.INTS, ints: v as number[] };
  }
  return { name, type: A.TENSOR, t: tensorProto(name, v) };
}

/** Clip bounds of the fused activations that ONNX writes as Clip. */
const CLIP_BOUNDS: Readonly<Record<string, readonly [number, number]>> = { relu6: [0, 6], htanh: [-1, 1] };

/**
 * ONNX nodes for one graph node. A fused activation (the runtime's own `activation` attribute, not
 * ONNX's) is written back as the Relu, Sigmoid or Clip it came from, reading a new intermediate value.
 */
function nodesOf(n: GraphNode, initializers: Map<string, Tensor>): onnxProto.onnx.INodeProto[] {
  const { activation, ...attrs } = n.attrs;
  const node = (
    op: string,
    name: string,
    input: string[],
    output: string[],
    a: Record<string, AttributeValue>,
  ) => ({
    opType: op,
    name,
    input,
    output,
    attribute: Object.entries(a).map(([k, v]) => attribute(k, v)),
  });
  if (activation === undefined || activation === 'none')
    return [node(n.op, n.name, n.inputs, n.outputs, attrs)];
  const out = n.outputs[0]!;
  const pre = `${out}__preactivation`;
  const act = `${n.name}__activation`;
  const fused = node(n.op, n.name, n.inputs, [pre], attrs);
  if (activation === 'relu') return [fused, node('Relu', act, [pre], [out], {})];
  if (activation === 'sigmoid') return [fused, node('Sigmoid', act, [pre], [out], {})];
  const bounds = CLIP_BOUNDS[activation as string];
  if (!bounds)
    throw new RuntimeError(
      'unsupported-op',
      `node ${n.name} has an activation '${String(activation)}' that ONNX cannot express.`,
    );
  const [lo, hi] = [`${act}__min`, `${act}__max`];
  initializers.set(lo, float32([], Float32Array.of(bounds[0])));
  initializers.set(hi, float32([], Float32Array.of(bounds[1])));
  return [fused, node('Clip', act, [pre, lo, hi], [out], {})];
}

/** Writes a graph as an ONNX model (IR version 8) that ONNX Runtime and other tools can load. */
export function exportOnnx(g: Graph): Uint8Array {
  const initializers = new Map(g.initializers);
  const nodes = g.nodes.flatMap((n) => nodesOf(n, initializers));
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'zeroskip',
    opsetImport: [{ domain: '', version: g.opset }],
    graph: {
      name: 'zeroskip',
      node: nodes,
      initializer: [...initializers].map(([name, t]) => tensorProto(name, t)),
      input: g.inputs.map((i) => ({
        name: i.name,
        type: {
          tensorType: {
            elemType: i.dtype === 'int64' ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.FLOAT,
            shape: { dim: i.shape.map((d) => (d < 0 ? { dimParam: 'N' } : { dimValue: d })) },
          },
        },
      })),
      output: g.outputs.map((name) => ({
        name,
        type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } },
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
