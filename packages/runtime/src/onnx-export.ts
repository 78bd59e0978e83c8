import onnxProto from 'onnx-proto';
import { RuntimeError } from './errors.js';
import type { AttributeValue, Graph, GraphNode } from './graph.js';
import { MAX_OPSET, ZEROSKIP_DOMAIN, ZEROSKIP_OPS } from './onnx.js';
import { usesBatchStatistics } from './ops/batch-normalization.js';
import { poolConvParts } from './ops/pool-conv.js';
import { inferShapes } from './shape-inference.js';
import { type DType, float32, type Tensor, valueBytes } from './tensor.js';

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
  'ratio',
  'cubic_coeff_a',
  'extrapolation_value',
  // Zeroskip's own ops: the shift of a sign map folded from a batch norm (QuantConv, ConvPoolSign)
  'input_shift',
  'sign_shift',
]);

/** ONNX element types of the runtime's dtypes. */
const ELEM_TYPES = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  uint8: onnx.TensorProto.DataType.UINT8,
  int8: onnx.TensorProto.DataType.INT8,
  bool: onnx.TensorProto.DataType.BOOL,
} as const satisfies Record<DType, number>;

/** Ops that flattened their input to 2-D at `axis` before opset 13, and work on one axis from 13 on. */
const FLATTENING_OPS = new Set(['Softmax', 'LogSoftmax', 'Hardmax']);

function tensorProto(name: string, t: Tensor): onnxProto.onnx.ITensorProto {
  const dataType = ELEM_TYPES[t.dtype];
  return { name, dims: [...t.shape], dataType, rawData: valueBytes(t) };
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
function nodesOf(
  n: GraphNode,
  initializers: Map<string, Tensor>,
  opset: number,
): onnxProto.onnx.INodeProto[] {
  const { activation, ...attrs } = n.attrs;
  const node = (
    op: string,
    name: string,
    input: string[],
    output: string[],
    a: Record<string, AttributeValue>,
  ) => ({
    opType: op,
    ...(ZEROSKIP_OPS.has(op) ? { domain: ZEROSKIP_DOMAIN } : {}),
    name,
    input,
    output,
    attribute: Object.entries(a).map(([k, v]) => attribute(k, v)),
  });
  // (fuseActivations leaves a batch norm in training mode without an activation)
  if (n.op === 'BatchNormalization' && usesBatchStatistics(n))
    return [node(n.op, n.name, n.inputs, trainingBatchNormOutputs(n), attrs)];
  // a PoolConv is written back as the pool and the Conv it came from
  if (n.op === 'PoolConv') {
    const { pool, conv } = poolConvParts(n);
    return [
      node(pool.op, `${n.name}__pool`, pool.inputs, pool.outputs, pool.attrs),
      ...nodesOf(conv, initializers, opset),
    ];
  }
  if (FLATTENING_OPS.has(n.op) && opset < 13) {
    // the file is written at the newest opset: the old 2-D coercion becomes Flatten → op → Reshape
    const [x, y] = [n.inputs[0]!, n.outputs[0]!];
    const [shape, flat, flatOut] = [`${y}__shape`, `${y}__flat`, `${y}__flat_out`];
    return [
      node('Shape', `${n.name}__shape`, [x], [shape], {}),
      node('Flatten', `${n.name}__flatten`, [x], [flat], {
        axis: typeof attrs.axis === 'number' ? attrs.axis : 1,
      }),
      node(n.op, n.name, [flat], [flatOut], { axis: 1 }),
      node('Reshape', `${n.name}__reshape`, [flatOut, shape], [y], {}),
    ];
  }
  // a Conv's fused residual (input 3, fuseResidualAdds) is written back as the Add it came from
  const residual = n.op === 'Conv' ? n.inputs[3] : undefined;
  const fusedAct = activation !== undefined && activation !== 'none';
  if (!residual && !fusedAct) return [node(n.op, n.name, n.inputs, n.outputs, attrs)];
  const out = n.outputs[0]!;
  const pre = `${out}__preactivation`;
  const act = `${n.name}__activation`;
  const summed = fusedAct ? pre : out;
  const own = residual ? n.inputs.slice(0, n.inputs[2] ? 3 : 2) : n.inputs;
  const conv = residual ? `${out}__conv` : summed;
  const nodes = [node(n.op, n.name, own, [conv], attrs)];
  if (residual) nodes.push(node('Add', `${n.name}__residual`, [conv, residual], [summed], {}));
  if (!fusedAct) return nodes;
  if (activation === 'relu') return [...nodes, node('Relu', act, [pre], [out], {})];
  if (activation === 'sigmoid') return [...nodes, node('Sigmoid', act, [pre], [out], {})];
  const bounds = CLIP_BOUNDS[activation as string];
  if (!bounds)
    throw new RuntimeError(
      'unsupported-op',
      `node ${n.name} has an activation '${String(activation)}' that ONNX cannot express.`,
    );
  const [lo, hi] = [`${act}__min`, `${act}__max`];
  initializers.set(lo, float32([], Float32Array.of(bounds[0])));
  initializers.set(hi, float32([], Float32Array.of(bounds[1])));
  return [...nodes, node('Clip', act, [pre, lo, hi], [out], {})];
}

/**
 * A training-mode batch norm's outputs at the newest opset: Y and the running mean and var, named
 * where nothing reads them, since ONNX Runtime tells training mode by their presence.
 */
function trainingBatchNormOutputs(n: GraphNode): string[] {
  const [y, mean, variance, ...saved] = n.outputs;
  if (saved.some((o) => o))
    throw new RuntimeError(
      'unsupported-op',
      `node ${n.name} (BatchNormalization) has its saved batch statistics read, which ONNX has no output for since opset 14; read its running statistics instead.`,
    );
  return [y!, mean || `${y}__running_mean`, variance || `${y}__running_var`];
}

/**
 * Writes a graph as an ONNX model that ONNX Runtime and other tools can load. Import brought every
 * node to its newest form, so the file declares the newest opset whatever the source's was.
 */
export function exportOnnx(g: Graph): Uint8Array {
  const initializers = new Map(g.initializers);
  const nodes = g.nodes.flatMap((n) => nodesOf(n, initializers, g.opset));
  const info = inferShapes(g);
  const model = onnx.ModelProto.create({
    irVersion: 10,
    producerName: 'zeroskip',
    opsetImport: [
      { domain: '', version: MAX_OPSET },
      ...(nodes.some((n) => n.domain === ZEROSKIP_DOMAIN) ? [{ domain: ZEROSKIP_DOMAIN, version: 1 }] : []),
    ],
    graph: {
      name: 'zeroskip',
      node: nodes,
      initializer: [...initializers].map(([name, t]) => tensorProto(name, t)),
      input: g.inputs.map((i) => ({
        name: i.name,
        type: {
          tensorType: {
            elemType: ELEM_TYPES[i.dtype],
            shape: { dim: i.shape.map((d) => (d < 0 ? { dimParam: 'N' } : { dimValue: d })) },
          },
        },
      })),
      output: g.outputs.map((name) => ({
        name,
        type: { tensorType: { elemType: ELEM_TYPES[info.get(name)?.dtype ?? 'float32'] } },
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
