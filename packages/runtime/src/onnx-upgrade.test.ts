import fc from 'fast-check';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { runCpu } from './cpu-session.js';
import type { Graph, GraphNode } from './graph.js';
import { importOnnx, parseOnnx } from './onnx.js';
import { exportOnnx } from './onnx-export.js';
import { isSupportedOp, SUPPORTED_OPS } from './ops/registry.js';
import { float32, int64, numbers, type Tensor } from './tensor.js';
import { shapeArb } from './testing/arbitraries.js';
import {
  type AttrSpec,
  expectClose,
  initializer,
  input,
  type OpModelSpec,
  opModel,
  runOrt,
  value,
} from './testing/onnx-graph.js';
import { randomTensor } from './testing/random.js';
import { unsupportedOpsError } from './unsupported.js';

const { onnx } = onnxProto;
const SEED = 7_2024;
/** The opset whose forms the upgraded nodes take. */
const NEWEST = 21;

/** Seeded floats in [-2, 2). */
const randn = (shape: readonly number[], seed: number) => randomTensor(shape, seed, -2, 2);

interface Case {
  readonly title: string;
  /** The model in the old form, at its old opset. */
  readonly bytes: Uint8Array;
  readonly feeds: Readonly<Record<string, Tensor>>;
  /** Expectations on the upgraded nodes. */
  readonly form: (nodes: readonly GraphNode[], g: Graph) => void;
  /** False where the opset still decides semantics, so the graph cannot be rewritten at opset 21. */
  readonly reexport?: boolean;
}

/** A one-node model over a float32 input 'x' (its shape taken from the feed) and constants. */
function oneNode(
  opset: number,
  op: string,
  x: Tensor,
  attrs: Record<string, AttrSpec>,
  consts: readonly (readonly [string, Tensor])[] = [],
  outputs: readonly string[] = ['y'],
  nodeInputs?: readonly string[],
): Uint8Array {
  const spec: OpModelSpec = {
    opset,
    op,
    attrs,
    inputs: [input('x', 'float32', x.shape), ...consts.map(([n, t]) => initializer(n, t))],
    outputs,
    ...(nodeInputs ? { nodeInputs } : {}),
  };
  return opModel(spec);
}

const only = (nodes: readonly GraphNode[]) => {
  expect(nodes).toHaveLength(1);
  return nodes[0]!;
};
/** The contents of the constant a node reads as input i. */
const constIn = (g: Graph, n: GraphNode, i: number) => numbers(g.initializers.get(n.inputs[i]!)!);

/** Seeded cases spread over the whole range (unbiased: fast-check starts small otherwise). */
const sample = <T>(arb: fc.Arbitrary<T>, runs = 3) =>
  fc.sample(fc.noBias(arb), { seed: SEED, numRuns: runs });

const REDUCE_OPS = [
  'ReduceSum',
  'ReduceMean',
  'ReduceMax',
  'ReduceMin',
  'ReduceProd',
  'ReduceL1',
  'ReduceL2',
  'ReduceLogSum',
  'ReduceLogSumExp',
  'ReduceSumSquare',
];

const CASES: Case[] = [
  ...sample(
    fc.record({
      opset: fc.integer({ min: 7, max: 10 }),
      shape: shapeArb(1, 4),
      min: fc.option(fc.integer({ min: -10, max: 0 }).map((v) => v / 10)),
      max: fc.option(fc.integer({ min: 0, max: 10 }).map((v) => v / 10)),
    }),
    4,
  ).map(({ opset, shape, min, max }, k) => {
    const x = randn(shape, k + 1);
    const attrs = { ...(min === null ? {} : { min }), ...(max === null ? {} : { max }) };
    return {
      title: `Clip-6 at opset ${opset} ${JSON.stringify(attrs)} on [${shape}]`,
      bytes: oneNode(opset, 'Clip', x, attrs),
      feeds: { x },
      form: (nodes: readonly GraphNode[], g: Graph) => {
        const n = only(nodes);
        expect(n.attrs).toEqual({});
        expect(n.inputs.length).toBe(max !== null ? 3 : min !== null ? 2 : 1);
        if (min !== null) expect(constIn(g, n, 1)[0]).toBeCloseTo(min);
        if (max !== null) expect(constIn(g, n, 2)[0]).toBeCloseTo(max);
        if (min === null && max !== null) expect(n.inputs[1]).toBe('');
      },
    };
  }),
  ...sample(
    fc.record({
      opset: fc.integer({ min: 7, max: 10 }),
      shape: fc.array(fc.integer({ min: 2, max: 4 }), { minLength: 1, maxLength: 3 }),
      pads: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 6, maxLength: 6 }),
      value: fc.integer({ min: -3, max: 3 }).map((v) => v / 2),
    }),
    6,
  ).map(({ opset, shape, pads: raw, value: v }, k) => {
    const mode = (['constant', 'edge', 'reflect'] as const)[k % 3]!;
    const x = randn(shape, k + 11);
    const rank = shape.length;
    // reflect pads at most dim − 1
    const pads = raw
      .slice(0, 2 * rank)
      .map((p, i) => (mode === 'reflect' ? Math.min(p, shape[i % rank]! - 1) : p));
    return {
      title: `Pad-2 at opset ${opset} ${mode} pads [${pads}] value ${v}`,
      bytes: oneNode(opset, 'Pad', x, { mode, pads, value: { float: v } }),
      feeds: { x },
      form: (nodes: readonly GraphNode[], g: Graph) => {
        const n = only(nodes);
        expect(n.attrs).toEqual({ mode });
        expect(constIn(g, n, 1)).toEqual(pads);
        expect(constIn(g, n, 2)).toEqual([v]);
      },
    };
  }),
  ...sample(
    fc.record({
      opset: fc.integer({ min: 7, max: 9 }),
      shape: shapeArb(1, 3),
      bounds: fc.array(fc.tuple(fc.integer({ min: -5, max: 5 }), fc.integer({ min: -5, max: 5 })), {
        minLength: 3,
        maxLength: 3,
      }),
      withAxes: fc.boolean(),
    }),
    4,
  ).map(({ opset, shape, bounds, withAxes }, k) => {
    const x = randn(shape, k + 21);
    const rank = shape.length;
    const axes = withAxes ? [rank - 1] : shape.map((_, i) => i);
    const starts = axes.map((a) => bounds[a]![0]);
    const ends = axes.map((a) => bounds[a]![1] + (bounds[a]![1] === 5 ? 2 ** 31 - 6 : 0));
    return {
      title: `Slice-1 at opset ${opset} starts [${starts}] ends [${ends}]${withAxes ? ` axes [${axes}]` : ''}`,
      bytes: oneNode(opset, 'Slice', x, { starts, ends, ...(withAxes ? { axes } : {}) }),
      feeds: { x },
      form: (nodes: readonly GraphNode[], g: Graph) => {
        const n = only(nodes);
        expect(n.attrs).toEqual({});
        expect(constIn(g, n, 1)).toEqual(starts);
        expect(constIn(g, n, 2)).toEqual(ends);
        if (withAxes) expect(constIn(g, n, 3)).toEqual(axes);
        else expect(n.inputs).toHaveLength(3);
      },
    };
  }),
  {
    title: 'Split-2 at opset 8 with sizes',
    bytes: oneNode(8, 'Split', randn([2, 5], 1), { axis: 1, split: [2, 3] }, [], ['a', 'b']),
    feeds: { x: randn([2, 5], 1) },
    form: (nodes, g) => {
      const n = only(nodes);
      expect(n.attrs).toEqual({ axis: 1 });
      expect(constIn(g, n, 1)).toEqual([2, 3]);
    },
  },
  ...[7, 11, 13, 17].map(
    (opset): Case => ({
      title: `Split at opset ${opset} into equal parts gets num_outputs`,
      bytes: oneNode(opset, 'Split', randn([6, 2], 2), {}, [], ['a', 'b', 'c']),
      feeds: { x: randn([6, 2], 2) },
      form: (nodes) => {
        const n = only(nodes);
        expect(n.inputs).toEqual(['x']);
        expect(n.attrs).toEqual({ num_outputs: 3 });
      },
    }),
  ),
  ...sample(fc.record({ opset: fc.integer({ min: 7, max: 12 }), shape: shapeArb(1, 3) })).flatMap(
    ({ opset, shape }, k) => {
      const x = randn(shape, k + 31);
      const axes = [0, shape.length + 1];
      const squeezed = randn([1, ...shape, 1], k + 41);
      return [
        {
          title: `Unsqueeze-1 at opset ${opset} axes [${axes}] on [${shape}]`,
          bytes: oneNode(opset, 'Unsqueeze', x, { axes }),
          feeds: { x },
          form: (nodes: readonly GraphNode[], g: Graph) => {
            const n = only(nodes);
            expect(n.attrs).toEqual({});
            expect(constIn(g, n, 1)).toEqual(axes);
          },
        },
        {
          title: `Squeeze-1 at opset ${opset} axes [${axes}] on [${squeezed.shape}]`,
          bytes: oneNode(opset, 'Squeeze', squeezed, { axes }),
          feeds: { x: squeezed },
          form: (nodes: readonly GraphNode[], g: Graph) => expect(constIn(g, only(nodes), 1)).toEqual(axes),
        },
      ];
    },
  ),
  ...sample(
    fc.record({
      shape: shapeArb(1, 4),
      keepdims: fc.constantFrom(0, 1),
      withAxes: fc.boolean(),
      opsetPick: fc.integer({ min: 0, max: 100 }),
    }),
    REDUCE_OPS.length,
  ).map(({ shape, keepdims, withAxes, opsetPick }, k) => {
    const op = REDUCE_OPS[k]!;
    const x = randn(shape, k + 51);
    const until = op === 'ReduceSum' ? 13 : 18;
    const opset = 7 + (opsetPick % (until - 7));
    const axes = withAxes ? [-1] : undefined;
    return {
      title: `${op} at opset ${opset} keepdims ${keepdims}${axes ? ' axes [-1]' : ''} on [${shape}]`,
      bytes: oneNode(opset, op, x, { keepdims, ...(axes ? { axes } : {}) }),
      feeds: { x },
      form: (nodes: readonly GraphNode[], g: Graph) => {
        const n = only(nodes);
        expect(n.attrs).toEqual({ keepdims });
        if (axes) expect(constIn(g, n, 1)).toEqual(axes);
        else expect(n.inputs).toEqual(['x']);
      },
    };
  }),
  ...(['nearest', 'linear'] as const).flatMap((mode) => {
    const x = randn([1, 2, 3, 4], 61);
    const scales = [1, 1, 2, 1.5];
    const s = float32([4], Float32Array.from(scales));
    const resizeForm = (nearestMode: string) => (nodes: readonly GraphNode[], g: Graph) => {
      const n = only(nodes);
      expect(n.op).toBe('Resize');
      expect(n.inputs[0]).toBe('x');
      expect(n.inputs[1]).toBe('');
      expect(constIn(g, n, 2)).toEqual(scales);
      expect(n.attrs).toEqual({
        mode,
        coordinate_transformation_mode: 'asymmetric',
        ...(mode === 'nearest' ? { nearest_mode: nearestMode } : {}),
      });
    };
    const down = float32([4], Float32Array.of(1, 1, 0.5, 0.4));
    return [
      {
        title: `Upsample-7 at opset 7 ${mode}`,
        bytes: oneNode(7, 'Upsample', x, { mode, scales }),
        feeds: { x },
        form: resizeForm('floor'),
      },
      {
        title: `Upsample-9 at opset 9 ${mode}`,
        bytes: oneNode(9, 'Upsample', x, { mode }, [['s', s]]),
        feeds: { x },
        form: resizeForm('floor'),
      },
      {
        title: `Resize-10 at opset 10 ${mode} enlarging`,
        bytes: oneNode(10, 'Resize', x, { mode }, [['s', s]]),
        feeds: { x },
        form: resizeForm('floor'),
      },
      {
        title: `Resize-10 at opset 10 ${mode} shrinking (scales from a Constant node)`,
        bytes: opModel({
          opset: 10,
          inputs: [input('x', 'float32', x.shape)],
          nodes: [
            { op: 'Constant', inputs: [], outputs: ['s'], attrs: { value: down } },
            { op: 'Resize', inputs: ['x', 's'], outputs: ['y'], attrs: { mode } },
          ],
          outputs: ['y'],
        }),
        feeds: { x },
        form: (nodes: readonly GraphNode[]) => {
          expect(nodes[1]).toMatchObject({
            op: 'Resize',
            inputs: ['x', '', 's'],
            attrs: { mode, ...(mode === 'nearest' ? { nearest_mode: 'ceil' } : {}) },
          });
        },
      },
    ];
  }),
  {
    title: 'Resize-11 with empty roi and scales placeholders and sizes',
    bytes: oneNode(11, 'Resize', randn([1, 1, 3, 3], 71), { mode: 'linear' }, [
      ['roi', float32([0])],
      ['scales', float32([0])],
      ['sizes', int64([4], [1, 1, 5, 4])],
    ]),
    feeds: { x: randn([1, 1, 3, 3], 71) },
    form: (nodes) => expect(only(nodes).inputs).toEqual(['x', '', '', 'sizes']),
  },
  {
    title: 'ImageScaler at opset 8 becomes Mul and Add',
    bytes: oneNode(8, 'ImageScaler', randn([2, 3, 2, 2], 81), { scale: 0.5, bias: [1, -2, 3] }),
    feeds: { x: randn([2, 3, 2, 2], 81) },
    form: (nodes, g) => {
      expect(nodes.map((n) => n.op)).toEqual(['Mul', 'Add']);
      expect(constIn(g, nodes[0]!, 1)).toEqual([0.5]);
      expect(g.initializers.get(nodes[1]!.inputs[1]!)!.shape).toEqual([1, 3, 1, 1]);
      expect(nodes[1]!.outputs).toEqual(['y']);
    },
  },
  {
    title: 'BatchNormalization-7 drops spatial=1',
    bytes: oneNode(
      7,
      'BatchNormalization',
      randn([2, 3, 2, 2], 91),
      { spatial: 1, epsilon: 1e-3 },
      (['scale', 'bias', 'mean', 'var'] as const).map((p, i) => [
        p,
        p === 'var' ? float32([3], Float32Array.of(0.5, 1, 2)) : randn([3], 92 + i),
      ]),
    ),
    feeds: { x: randn([2, 3, 2, 2], 91) },
    form: (nodes) => expect(Object.keys(only(nodes).attrs)).toEqual(['epsilon']),
  },
  ...[7, 10].map(
    (opset): Case => ({
      title: `Dropout at opset ${opset} drops ratio`,
      bytes: oneNode(opset, 'Dropout', randn([3, 4], 101), { ratio: 0.3 }),
      feeds: { x: randn([3, 4], 101) },
      form: (nodes) => expect(only(nodes).attrs).toEqual({}),
    }),
  ),
  {
    title: 'MaxPool-8 drops storage_order',
    bytes: oneNode(8, 'MaxPool', randn([1, 2, 5, 5], 111), {
      kernel_shape: [2, 2],
      strides: [2, 2],
      pads: [1, 1, 0, 0],
      storage_order: 1,
    }),
    feeds: { x: randn([1, 2, 5, 5], 111) },
    form: (nodes) =>
      expect(only(nodes).attrs).toEqual({ kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 0, 0] }),
  },
  {
    title: 'Gemm-7 is already in the newest form',
    bytes: oneNode(7, 'Gemm', randn([2, 3], 121), { alpha: 0.5, beta: 2, transB: 1 }, [
      ['b', randn([4, 3], 122)],
      ['c', randn([4], 123)],
    ]),
    feeds: { x: randn([2, 3], 121) },
    form: (nodes) => expect(only(nodes).attrs).toEqual({ alpha: 0.5, beta: 2, transB: 1 }),
  },
  {
    title: 'Softmax-1 at opset 7 keeps its attributes; the opset decides its flattening',
    bytes: oneNode(7, 'Softmax', randn([2, 3, 4], 131), {}),
    feeds: { x: randn([2, 3, 4], 131) },
    form: (nodes, g) => {
      expect(only(nodes).attrs).toEqual({});
      expect(g.opset).toBe(7);
    },
    reexport: false,
  },
  ...sample(
    fc.record({
      opset: fc.integer({ min: 7, max: 9 }),
      shape: shapeArb(1, 3),
      axisPick: fc.integer({ min: 0, max: 100 }),
      kPick: fc.integer({ min: 0, max: 100 }),
    }),
  ).map(({ opset, shape, axisPick, kPick }, k): Case => {
    const x = randn(shape, k + 151);
    const axis = (axisPick % (2 * shape.length)) - shape.length;
    const count = 1 + (kPick % shape.at(axis)!);
    return {
      title: `TopK-1 at opset ${opset} k ${count} axis ${axis} on [${shape}]`,
      bytes: oneNode(opset, 'TopK', x, { k: count, axis }, [], ['values', 'indices']),
      feeds: { x },
      form: (nodes, g) => {
        const n = only(nodes);
        expect(n.attrs).toEqual({ axis });
        expect(constIn(g, n, 1)).toEqual([count]);
      },
    };
  }),
  ...[9, 10].map(
    (opset): Case => ({
      title: `Scatter at opset ${opset} becomes ScatterElements`,
      bytes: oneNode(opset, 'Scatter', randn([3, 3], 161), { axis: 1 }, [
        ['indices', int64([2, 3], [1, 0, 2, 0, -1, 1])],
        ['updates', randn([2, 3], 162)],
      ]),
      feeds: { x: randn([3, 3], 161) },
      form: (nodes) =>
        expect(only(nodes)).toMatchObject({
          op: 'ScatterElements',
          inputs: ['x', 'indices', 'updates'],
          attrs: { axis: 1 },
        }),
    }),
  ),
];

describe('older opsets import in the newest node forms', () => {
  for (const c of CASES) {
    it(`${c.title}: newest form, and ONNX Runtime computes the same at opset ${NEWEST}`, async () => {
      const g = parseOnnx(c.bytes);
      c.form(g.nodes, g);
      if (c.reexport === false) return;
      const want = await runOrt(c.bytes, c.feeds);
      const got = await runOrt(exportOnnx({ ...g, opset: NEWEST }), c.feeds);
      for (const [k, w] of Object.entries(want)) expectClose(got[k], w);
    });
    const ops = [...new Set(parseOnnx(c.bytes).nodes.map((n) => n.op))];
    it.skipIf(!ops.every(isSupportedOp))(`${c.title}: runCpu equals ONNX Runtime`, async () => {
      const want = await runOrt(c.bytes, c.feeds);
      const got = runCpu(importOnnx(c.bytes), c.feeds);
      for (const [k, w] of Object.entries(want)) expectClose(got[k], w);
    });
  }
});

it('ImageScaler without bias (which ONNX Runtime refuses to load) becomes one Mul', () => {
  const g = parseOnnx(oneNode(8, 'ImageScaler', randn([1, 2, 2, 2], 82), { scale: 2 }));
  const n = only(g.nodes);
  expect(n).toMatchObject({ op: 'Mul', outputs: ['y'] });
  expect(constIn(g, n, 1)).toEqual([2]);
});

describe('forms and models the importer refuses, with a clear reason', () => {
  const x = randn([1, 2, 4, 4], 141);
  const cases: [string, Uint8Array, RegExp][] = [
    [
      'BatchNormalization spatial=0',
      oneNode(
        7,
        'BatchNormalization',
        x,
        { spatial: 0 },
        ['s', 'b', 'm', 'v'].map((p) => [p, float32([2], Float32Array.of(1, 1))]),
      ),
      /spatial=0/,
    ],
    ['MaxPool Indices', oneNode(8, 'MaxPool', x, { kernel_shape: [2, 2] }, [], ['y', 'indices']), /Indices/],
    [
      'Resize-10 that enlarges one axis and shrinks another',
      oneNode(10, 'Resize', x, {}, [['s', float32([4], Float32Array.of(1, 1, 2, 0.5))]]),
      /enlarges some axes and shrinks others/,
    ],
    [
      'Upsample-9 nearest with scales fed at run time',
      opModel({
        opset: 9,
        op: 'Upsample',
        inputs: [input('x', 'float32', x.shape), input('s', 'float32', [4])],
        outputs: ['y'],
      }),
      /scales must be constant/,
    ],
    ['opset 6', oneNode(6, 'Relu', x, {}), /opset 6; this runtime reads opsets 7–21.*version_converter/],
    ['opset 22', oneNode(22, 'Relu', x, {}), /opset 22.*version_converter/],
  ];
  for (const [what, bytes, message] of cases)
    it(what, () => {
      expect(() => importOnnx(bytes)).toThrow(message);
    });

  it('a Constant holding a sparse tensor', () => {
    const model = onnx.ModelProto.decode(
      opModel({ opset: 13, op: 'Constant', attrs: { value: float32([1]) }, inputs: [], outputs: ['y'] }),
    );
    const attr = model.graph!.node![0]!.attribute![0]!;
    Object.assign(attr, {
      name: 'sparse_value',
      type: onnx.AttributeProto.AttributeType.SPARSE_TENSOR,
      t: null,
    });
    attr.sparseTensor = { values: { dims: [1], dataType: 1, floatData: [1] }, dims: [4] };
    expect(() => importOnnx(onnx.ModelProto.encode(model).finish())).toThrow(/'sparse_value'.*sparse tensor/);
  });
});

describe('unsupported ops are reported together', () => {
  const model = () => {
    const bytes = opModel({
      opset: 13,
      inputs: [input('x', 'float32', [1, 2, 4, 4]), initializer('w', randn([2, 2, 1, 1], 1))],
      nodes: [
        { op: 'FusedConv', domain: 'com.microsoft', name: 'fc', inputs: ['x', 'w'], outputs: ['a'] },
        { op: 'Relu', inputs: ['a'], outputs: ['b'] },
        ...['n1', 'n2', 'n3', 'n4', 'n5'].map((name, i) => ({
          op: 'Softsign2',
          name,
          inputs: [i === 0 ? 'b' : `s${i}`],
          outputs: [`s${i + 1}`],
        })),
      ],
      outputs: ['s5'],
    });
    const m = onnx.ModelProto.decode(bytes);
    // a Loop node with a subgraph body
    m.graph!.node!.push({
      opType: 'Loop',
      name: 'loop_1',
      input: ['', ''],
      output: ['l'],
      attribute: [{ name: 'body', type: onnx.AttributeProto.AttributeType.GRAPH, g: { name: 'body' } }],
    });
    return onnx.ModelProto.encode(m).finish();
  };

  it('parses custom-domain ops as domain.Op and subgraph ops without their bodies', () => {
    const ops = parseOnnx(model()).nodes.map((n) => n.op);
    expect(ops).toContain('com.microsoft.FusedConv');
    expect(ops).toContain('Loop');
  });

  it('names every unsupported op with its nodes in one error', () => {
    const err = unsupportedOpsError(parseOnnx(model()).nodes, isSupportedOp, SUPPORTED_OPS)!;
    expect(err.code).toBe('unsupported-op');
    expect(err.message).toMatch(/^3 ops used by 7 nodes are not supported: /);
    expect(err.message).toContain("com.microsoft.FusedConv (node 'fc')");
    expect(err.message).toContain("Softsign2 (nodes 'n1', 'n2', 'n3' and 2 more)");
    expect(err.message).toContain("Loop (node 'loop_1')");
    expect(err.message).toContain(`supported ops: ${SUPPORTED_OPS.join(', ')}.`);
    expect(err.message).toMatch(/custom domain/);
    expect(err.message).not.toContain('Relu (');
  });

  it('returns nothing when every op is supported', () => {
    expect(unsupportedOpsError(parseOnnx(model()).nodes, () => true, [])).toBeUndefined();
  });
});

describe('graph inputs', () => {
  it('take the runtime dtype of their ONNX element type; symbolic dimensions are -1', () => {
    const dtypes = ['float32', 'float64', 'int64', 'int32', 'uint8', 'bool'] as const;
    const g = parseOnnx(
      opModel({
        opset: 13,
        inputs: dtypes.map((d) => input(d, d, ['N', 3])),
        nodes: dtypes.map((d) => ({ op: 'Identity', inputs: [d], outputs: [`${d}_out`] })),
        outputs: dtypes.map((d) => `${d}_out`),
      }),
    );
    expect(g.inputs.map((i) => [i.dtype, i.shape])).toEqual([
      ['float32', [-1, 3]],
      ['float32', [-1, 3]],
      ['int64', [-1, 3]],
      ['int64', [-1, 3]],
      ['uint8', [-1, 3]],
      ['bool', [-1, 3]],
    ]);
  });

  it('initializers of every element type read as ONNX Runtime reads them', async () => {
    for (const v of [
      value('int32', [3], [-4, 0, 9]),
      value('float64', [2], [0.1, -3]),
      value('bool', [2], [1, 0]),
    ]) {
      const bytes = opModel({ opset: 13, op: 'Identity', inputs: [initializer('c', v)], outputs: ['y'] });
      expectClose(parseOnnx(bytes).initializers.get('c'), (await runOrt(bytes, {})).y, 0);
    }
  });
});
