import onnxProto from 'onnx-proto';
import type { AttributeValue, Graph } from './graph.js';
import type { Tensor } from './tensor.js';

const { onnx } = onnxProto;

/** Attributes ONNX types as floats; every other numeric attribute of the supported ops is an integer. */
const FLOAT_ATTRS = new Set([
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

function attribute(name: string, v: AttributeValue): onnxProto.onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number')
    return FLOAT_ATTRS.has(name) ? { name, type: A.FLOAT, f: v } : { name, type: A.INT, i: v };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string'))
      return { name, type: A.STRINGS, strings: (v as string[]).map((x) => new TextEncoder().encode(x)) };
    return FLOAT_ATTRS.has(name)
      ? { name, type: A.FLOATS, floats: v as number[] }
      : { name, type: A.INTS, ints: v as number[] };
  }
  return { name, type: A.TENSOR, t: tensorProto(name, v) };
}

/** Writes a graph as an ONNX model (IR version 8) that ONNX Runtime and other tools can load. */
export function exportOnnx(g: Graph): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'zeroskip',
    opsetImport: [{ domain: '', version: g.opset }],
    graph: {
      name: 'zeroskip',
      node: g.nodes.map((n) => ({
        opType: n.op,
        name: n.name,
        input: n.inputs,
        output: n.outputs,
        // the runtime's own fused activation is not an ONNX attribute
        attribute: Object.entries(n.attrs)
          .filter(([k]) => k !== 'activation')
          .map(([k, v]) => attribute(k, v)),
      })),
      initializer: [...g.initializers].map(([name, t]) => tensorProto(name, t)),
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
