import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import type { AttributeValue } from '../graph.js';
import { attribute, FLOAT_ATTRS } from '../onnx-export.js';
import { type DType, type Tensor, tensor } from '../tensor.js';

// Builds small ONNX models (one op, or a few) at any opset and runs them in ONNX Runtime, the
// reference the runtime's executors are tested against.

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

/** Element types a test model may hold; int32 and float64 exist to test the importer's conversions. */
export type ElemType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool';

/** Host data of any {@link ElemType}; a runtime {@link Tensor} is one. */
export interface Value {
  readonly dtype: ElemType;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

const ELEM: Record<
  ElemType,
  {
    readonly onnx: number;
    readonly ort: ort.Tensor.Type;
    readonly array: (
      v: ArrayLike<number>,
    ) => Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;
  }
> = {
  float32: { onnx: T.FLOAT, ort: 'float32', array: (v) => Float32Array.from(v) },
  float64: { onnx: T.DOUBLE, ort: 'float64', array: (v) => Float64Array.from(v) },
  int64: { onnx: T.INT64, ort: 'int64', array: (v) => BigInt64Array.from(Array.from(v), BigInt) },
  int32: { onnx: T.INT32, ort: 'int32', array: (v) => Int32Array.from(v) },
  uint8: { onnx: T.UINT8, ort: 'uint8', array: (v) => Uint8Array.from(v) },
  int8: { onnx: T.INT8, ort: 'int8', array: (v) => Int8Array.from(v) },
  bool: { onnx: T.BOOL, ort: 'bool', array: (v) => Uint8Array.from(v) },
};

/** Float attributes beyond the exporter's: those of the ops and old op forms the tests build. */
const FLOAT_NAMES: ReadonlySet<string> = new Set([
  ...FLOAT_ATTRS,
  'ratio',
  'scale',
  'scales',
  'value',
  'cubic_coeff_a',
  'extrapolation_value',
]);

/** An attribute whose ONNX type the caller states, where its JS type is ambiguous. */
export type TypedAttr =
  | { readonly float: number }
  | { readonly int: number }
  | { readonly floats: readonly number[] }
  | { readonly ints: readonly number[] }
  | { readonly string: string }
  | { readonly strings: readonly string[] }
  | { readonly tensor: Value };

/**
 * An attribute value: a {@link TypedAttr}, or a plain value typed by its JS type (a number is a float
 * when its name is a known float attribute such as alpha, epsilon or scales, an int otherwise).
 */
export type AttrSpec = TypedAttr | Exclude<AttributeValue, Tensor> | Value;

export interface NodeSpec {
  readonly op: string;
  /** Value names in order; '' for an absent optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs?: Readonly<Record<string, AttrSpec>>;
  /** Defaults to the op type and the node's index. */
  readonly name?: string;
  /** Defaults to '' (ai.onnx); any other domain is imported at version 1. */
  readonly domain?: string;
}

/** A graph input fed at run time; a string dimension is symbolic. */
export interface InputSpec {
  readonly name: string;
  readonly dtype: ElemType;
  readonly shape: readonly (number | string)[];
}

/** A constant tensor of the graph. */
export interface InitializerSpec {
  readonly name: string;
  readonly value: Value;
}

export interface ModelSpec {
  /** The ai.onnx opset. */
  readonly opset: number;
  /** Defaults to the IR version that came with the opset. */
  readonly irVersion?: number;
  /** Graph inputs and initializers. */
  readonly inputs: readonly (InputSpec | InitializerSpec)[];
  readonly outputs: readonly string[];
  /** Several nodes in topological order; or give one node's fields (op, attrs, …) directly. */
  readonly nodes?: readonly NodeSpec[];
}

/** One node whose inputs default to the spec's inputs and initializers, in order. */
export type OpModelSpec =
  | (ModelSpec & { readonly nodes: readonly NodeSpec[] })
  | (ModelSpec & Omit<NodeSpec, 'inputs' | 'outputs'> & { readonly nodeInputs?: readonly string[] });

export const input = (name: string, dtype: ElemType, shape: readonly (number | string)[]): InputSpec => ({
  name,
  dtype,
  shape,
});

export const initializer = (name: string, value: Value): InitializerSpec => ({ name, value });

/** A Value from plain numbers (booleans as 0 and 1). */
export const value = (dtype: ElemType, shape: readonly number[], data: ArrayLike<number>): Value => ({
  dtype,
  shape,
  data,
});

/** The IR version ONNX released with each opset (what exporters of that time wrote). */
export function irVersionOf(opset: number): number {
  if (opset <= 8) return 3;
  if (opset <= 11) return opset - 5;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  return opset <= 20 ? 9 : 10;
}

function tensorProto(name: string, v: Value): onnxProto.onnx.ITensorProto {
  const typed = ELEM[v.dtype].array(v.data);
  return {
    name,
    dims: [...v.shape],
    dataType: ELEM[v.dtype].onnx,
    rawData: new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength),
  };
}

/** Whether an attribute (or anything) is a {@link Value}. */
export const isValue = (v: unknown): v is Value =>
  typeof v === 'object' && v !== null && 'dtype' in v && 'shape' in v && 'data' in v;

function attributeOf(name: string, spec: AttrSpec): onnxProto.onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (isValue(spec)) return { name, type: A.TENSOR, t: tensorProto(name, spec) };
  if (typeof spec !== 'object' || Array.isArray(spec)) return attribute(name, spec, FLOAT_NAMES);
  if ('float' in spec) return { name, type: A.FLOAT, f: spec.float };
  if ('int' in spec) return { name, type: A.INT, i: spec.int };
  if ('floats' in spec) return { name, type: A.FLOATS, floats: [...spec.floats] };
  if ('ints' in spec) return { name, type: A.INTS, ints: [...spec.ints] };
  if ('string' in spec) return attribute(name, spec.string);
  if ('strings' in spec) return attribute(name, [...spec.strings]);
  return { name, type: A.TENSOR, t: tensorProto(name, spec.tensor) };
}

const valueInfo = (name: string, dtype: ElemType, shape: readonly (number | string)[]) => ({
  name,
  type: {
    tensorType: {
      elemType: ELEM[dtype].onnx,
      shape: { dim: shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
    },
  },
});

/** ModelProto bytes for one node (or a few) with the given inputs, initializers, outputs and opset. */
export function opModel(spec: OpModelSpec): Uint8Array {
  const fed = spec.inputs.filter((i): i is InputSpec => 'dtype' in i);
  const consts = spec.inputs.filter((i): i is InitializerSpec => 'value' in i);
  const nodes: readonly NodeSpec[] =
    'op' in spec
      ? [{ ...spec, inputs: spec.nodeInputs ?? spec.inputs.map((i) => i.name), outputs: spec.outputs }]
      : spec.nodes;
  const irVersion = spec.irVersion ?? irVersionOf(spec.opset);
  const domains = [...new Set(nodes.map((n) => n.domain ?? '').filter((d) => d !== ''))];
  const model = onnx.ModelProto.create({
    irVersion,
    producerName: 'zeroskip-tests',
    opsetImport: [{ domain: '', version: spec.opset }, ...domains.map((domain) => ({ domain, version: 1 }))],
    graph: {
      name: 'test',
      node: nodes.map((n, i) => ({
        opType: n.op,
        name: n.name ?? `${n.op}_${i}`,
        domain: n.domain ?? '',
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attributeOf(k, v)),
      })),
      initializer: consts.map((c) => tensorProto(c.name, c.value)),
      input: [
        ...fed.map((i) => valueInfo(i.name, i.dtype, i.shape)),
        // before IR 4 every initializer is also a graph input
        ...(irVersion < 4 ? consts.map((c) => valueInfo(c.name, c.value.dtype, c.value.shape)) : []),
      ],
      output: spec.outputs.map((name) => ({ name })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Host data in the runtime's form: int32 widened to int64, float64 narrowed to float32, as the importer does. */
export function toTensor(v: Value): Tensor {
  const d = v.dtype;
  if (d === 'float32' || d === 'float64') return tensor('float32', v.shape, Float32Array.from(v.data));
  if (d === 'int64' || d === 'int32') return tensor('int64', v.shape, Float64Array.from(v.data));
  if (d === 'int8') return tensor(d, v.shape, Int8Array.from(v.data));
  return tensor(d satisfies DType, v.shape, Uint8Array.from(v.data));
}

/** Runs a model in ONNX Runtime (CPU, one thread); returns every graph output in the runtime's form. */
export async function runOrt(
  bytes: Uint8Array,
  feeds: Readonly<Record<string, Value>>,
): Promise<Record<string, Tensor>> {
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  try {
    const ortFeeds = Object.fromEntries(
      Object.entries(feeds).map(([k, v]) => [
        k,
        new ort.Tensor(ELEM[v.dtype].ort, ELEM[v.dtype].array(v.data), [...v.shape]),
      ]),
    );
    const results = await session.run(ortFeeds);
    return Object.fromEntries(
      Object.entries(results).map(([k, t]) => {
        const dtype = (Object.keys(ELEM) as ElemType[]).find((e) => ELEM[e].ort === t.type);
        if (!dtype)
          throw new Error(`output '${k}' has ONNX Runtime type ${t.type}, which tests do not read.`);
        const data = t.data as ArrayLike<number | bigint>;
        return [k, toTensor({ dtype, shape: t.dims, data: Array.from(data, Number) })];
      }),
    );
  } finally {
    await session.release();
  }
}

/**
 * Expects equal shapes and dtypes, NaN in the same places, and max |a − e| ≤ tol·max|e| + 1e-5
 * (integer and bool tensors exactly equal).
 */
export function expectClose(actual: Tensor | undefined, expected: Tensor | undefined, tol = 1e-4): void {
  expect(actual).toBeDefined();
  expect(expected).toBeDefined();
  const [a, e] = [actual!, expected!];
  expect(a.shape).toEqual(e.shape);
  expect(a.dtype).toBe(e.dtype);
  const nanA = Array.from(a.data, Number.isNaN);
  expect(nanA).toEqual(Array.from(e.data, Number.isNaN));
  if (e.dtype !== 'float32') {
    expect(Array.from(a.data)).toEqual(Array.from(e.data));
    return;
  }
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < e.data.length; i++) {
    if (nanA[i]) continue;
    const ev = e.data[i]!;
    const av = a.data[i]!;
    if (Number.isFinite(ev)) scale = Math.max(scale, Math.abs(ev));
    // infinities must match exactly; their difference is NaN otherwise
    worst = Math.max(worst, av === ev ? 0 : Math.abs(av - ev));
  }
  expect(worst).toBeLessThanOrEqual(tol * scale + 1e-5);
}
