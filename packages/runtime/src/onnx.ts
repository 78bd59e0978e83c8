import onnxProto from 'onnx-proto';
import { RuntimeError } from './errors.js';
import type { AttributeValue, Graph, GraphInput, GraphNode } from './graph.js';
import { upgradeNodes } from './onnx-upgrade.js';
import { REFUSED_QUANT_TYPES } from './ops/quantize-linear.js';
import { type DType, type Tensor, tensor } from './tensor.js';
import { validateGraph } from './validate.js';

const { onnx } = onnxProto;
type Long = { toNumber(): number };
const num = (v: number | Long | null | undefined): number =>
  v == null ? 0 : typeof v === 'number' ? v : v.toNumber();

export const MIN_OPSET = 7;
export const MAX_OPSET = 21;

/** The ONNX domain of Zeroskip's own ops, and those ops, which the graph names without the domain. */
export const ZEROSKIP_DOMAIN = 'ai.zeroskip';
export const ZEROSKIP_OPS: ReadonlySet<string> = new Set([
  'QuantConv',
  'ConvPoolSign',
  'PoolConv',
  'FakeQuantize',
]);

export interface ImportOptions {
  /** Reads an external-data file named by a tensor's `location` (the `.onnx.data` beside the model). */
  readonly externalData?: (location: string) => Uint8Array;
}

function toTensor(t: onnxProto.onnx.ITensorProto, options: ImportOptions): Tensor {
  const name = t.name ?? '';
  const dims = (t.dims ?? []).map(num);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw new RuntimeError('invalid-model', `tensor '${name}' has invalid dimensions [${dims.join(', ')}].`);
  const count = dims.reduce((a, b) => a * b, 1);
  let raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const entry = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
    if (!entry.location)
      throw new RuntimeError('invalid-model', `tensor '${name}' is external but names no location.`);
    if (!options.externalData)
      throw new RuntimeError(
        'invalid-input',
        `tensor '${name}' lives in '${entry.location}'; load the model from a file so that its external data can be read.`,
      );
    const file = options.externalData(entry.location);
    const offset = Number(entry.offset ?? 0);
    const length = entry.length === undefined ? file.length - offset : Number(entry.length);
    if (!(offset >= 0 && length >= 0 && offset + length <= file.length))
      throw new RuntimeError(
        'corrupt-file',
        `external data of '${name}' (offset ${offset}, length ${length}) lies outside '${entry.location}'.`,
      );
    raw = file.subarray(offset, offset + length);
  }
  const bytesOf = (size: number) => {
    if (raw && raw.length !== count * size)
      throw new RuntimeError(
        'corrupt-file',
        `tensor '${name}' holds ${raw.length} bytes but [${dims.join(', ')}] needs ${count * size}.`,
      );
    // a copy: protobufjs hands out views (Buffer slices in Node) into the whole model
    return raw ? new Uint8Array(raw).buffer : undefined;
  };
  const T = onnx.TensorProto.DataType;
  switch (t.dataType) {
    case T.FLOAT: {
      const b = bytesOf(4);
      return tensor('float32', dims, b ? new Float32Array(b) : Float32Array.from(t.floatData ?? []));
    }
    case T.DOUBLE: {
      const b = bytesOf(8);
      return tensor('float32', dims, Float32Array.from(b ? new Float64Array(b) : (t.doubleData ?? [])));
    }
    case T.INT64: {
      const b = bytesOf(8);
      return tensor(
        'int64',
        dims,
        b ? Float64Array.from(new BigInt64Array(b), Number) : Float64Array.from(t.int64Data ?? [], num),
      );
    }
    case T.INT32: {
      const b = bytesOf(4);
      return tensor('int64', dims, Float64Array.from(b ? new Int32Array(b) : (t.int32Data ?? [])));
    }
    case T.UINT8:
    case T.BOOL: {
      const b = bytesOf(1);
      return tensor(
        t.dataType === T.BOOL ? 'bool' : 'uint8',
        dims,
        b ? new Uint8Array(b) : Uint8Array.from(t.int32Data ?? []),
      );
    }
    case T.INT8: {
      const b = bytesOf(1);
      return tensor('int8', dims, b ? new Int8Array(b) : Int8Array.from(t.int32Data ?? []));
    }
    default: {
      const quant = REFUSED_QUANT_TYPES.get(t.dataType ?? 0);
      throw new RuntimeError(
        'unsupported-op',
        quant
          ? `tensor '${name}' is ${quant} (ONNX data type ${t.dataType}), which this runtime does not support; quantize the model to int8 or uint8.`
          : `tensor '${name}' has ONNX data type ${t.dataType}; float32, float64, int64, int32, uint8, int8 and bool are supported.`,
      );
    }
  }
}

const A = onnx.AttributeProto.AttributeType;
/** Subgraph attributes (If, Loop, Scan bodies): no supported op has one, so their nodes are reported as unsupported ops. */
const SUBGRAPHS: readonly number[] = [A.GRAPH, A.GRAPHS];

function toAttribute(
  a: onnxProto.onnx.IAttributeProto,
  node: string,
  options: ImportOptions,
): AttributeValue {
  switch (a.type) {
    case A.FLOAT:
      return a.f ?? 0;
    case A.INT:
      return num(a.i);
    case A.STRING:
      return new TextDecoder().decode(a.s ?? new Uint8Array());
    case A.TENSOR:
      if (!a.t) throw new RuntimeError('invalid-model', `attribute '${a.name}' holds no tensor.`);
      return toTensor(a.t, options);
    case A.FLOATS:
      return [...(a.floats ?? [])];
    case A.INTS:
      return (a.ints ?? []).map(num);
    case A.STRINGS:
      return (a.strings ?? []).map((s) => new TextDecoder().decode(s));
    case A.SPARSE_TENSOR:
      throw new RuntimeError(
        'unsupported-op',
        `attribute '${a.name}' of node '${node}' holds a sparse tensor, which this runtime does not read; store it dense (onnx.numpy_helper) and re-export the model.`,
      );
    default:
      throw new RuntimeError(
        'unsupported-op',
        `attribute '${a.name}' of node '${node}' has type ${a.type}, which this runtime does not read.`,
      );
  }
}

const ELEM_DTYPES: ReadonlyMap<number, DType> = new Map([
  [onnx.TensorProto.DataType.FLOAT, 'float32'],
  [onnx.TensorProto.DataType.DOUBLE, 'float32'],
  [onnx.TensorProto.DataType.INT64, 'int64'],
  [onnx.TensorProto.DataType.INT32, 'int64'],
  [onnx.TensorProto.DataType.UINT8, 'uint8'],
  [onnx.TensorProto.DataType.INT8, 'int8'],
  [onnx.TensorProto.DataType.BOOL, 'bool'],
]);

/** A graph input's dtype in the runtime's terms (as its initializers are read: int32 as int64, double as float32). */
function inputDtype(i: onnxProto.onnx.IValueInfoProto): DType {
  const elem = i.type?.tensorType?.elemType;
  if (!elem) return 'float32';
  const dtype = ELEM_DTYPES.get(elem);
  if (!dtype)
    throw new RuntimeError(
      'invalid-model',
      `graph input '${i.name}' has ONNX data type ${elem}; float32, float64, int64, int32, uint8, int8 and bool inputs are supported.`,
    );
  return dtype;
}

const isStandard = (domain: string | null | undefined) => !domain || domain === 'ai.onnx';

/**
 * Parses an ONNX model (opsets 7–21) into the runtime's graph, with older node forms rewritten to
 * the newest ones (onnx-upgrade.ts), without checking that its ops are supported. Zeroskip's own ops
 * keep their names; ops of other domains than ai.onnx become 'domain.Op' names.
 */
export function parseOnnx(bytes: Uint8Array, options: ImportOptions = {}): Graph {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new RuntimeError('corrupt-file', `this is not a readable ONNX model (${(e as Error).message}).`);
  }
  const g = model.graph;
  if (!g) throw new RuntimeError('invalid-model', 'the ONNX model has no graph.');
  const opsetEntry = model.opsetImport.find((o) => isStandard(o.domain));
  if (!opsetEntry)
    throw new RuntimeError(
      'invalid-model',
      'the model imports no ai.onnx opset; standard ONNX ops need one.',
    );
  const opset = num(opsetEntry.version);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new RuntimeError(
      'invalid-model',
      `the model uses ONNX opset ${opset}; this runtime reads opsets ${MIN_OPSET}–${MAX_OPSET}: convert it with onnx.version_converter.convert_version(model, ${opset < MIN_OPSET ? 13 : MAX_OPSET}).`,
    );
  }
  const initializers = new Map<string, Tensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', toTensor(t, options));
  const inputs: GraphInput[] = (g.input ?? [])
    .filter((i) => !initializers.has(i.name ?? ''))
    .map((i) => ({
      name: i.name ?? '',
      dtype: inputDtype(i),
      shape: (i.type?.tensorType?.shape?.dim ?? []).map((d) =>
        d.dimValue != null && num(d.dimValue) > 0 ? num(d.dimValue) : -1,
      ),
    }));
  const parsed: GraphNode[] = (g.node ?? []).map((n, index) => {
    const own = n.domain === ZEROSKIP_DOMAIN && ZEROSKIP_OPS.has(n.opType ?? '');
    const op = isStandard(n.domain) || own ? (n.opType ?? '') : `${n.domain}.${n.opType ?? ''}`;
    const name = n.name || `${op}_${index}`;
    return {
      op,
      name,
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attrs: Object.fromEntries(
        (n.attribute ?? [])
          .filter((a) => !SUBGRAPHS.includes(a.type ?? 0))
          .map((a) => [a.name ?? '', toAttribute(a, name, options)]),
      ),
    };
  });
  const outputs = (g.output ?? []).map((o) => o.name ?? '');
  const upgraded = upgradeNodes({ nodes: parsed, initializers, inputs, opset });
  return { ...upgraded, inputs, outputs, opset };
}

/** Parses an ONNX model (its protobuf read by `parseOnnx`) and checks that the runtime can run it. */
export function importOnnx(bytes: Uint8Array, options: ImportOptions = {}): Graph {
  const graph = parseOnnx(bytes, options);
  validateGraph(graph);
  return graph;
}
