import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shapeArb } from '../testing/arbitraries.js';
import { expectExecutorsMatchOrt } from '../testing/executors.js';
import { type ElemType, initializer, input, opModel, type Value, value } from '../testing/onnx-graph.js';
import {
  constant,
  expectExecutorsMatchCase,
  expectOpMatchesOrt,
  fed,
  type OpCase,
} from '../testing/op-cases.js';
import { randomValue } from '../testing/random.js';
import { castLike, castOp } from './cast.js';
import { compareOps } from './compare.js';
import { constantOfShape } from './constant-of-shape.js';
import { expand } from './expand.js';
import { eyeLike } from './eye-like.js';
import { pow } from './pow.js';
import { prelu } from './prelu.js';
import { range } from './range.js';
import { tile } from './tile.js';
import type { OpDef } from './types.js';
import { unaryMathOps } from './unary-math.js';
import { variadicOps } from './variadic.js';
import { where } from './where.js';

const RUNS = (seed: number, numRuns = 12) => ({ seed, numRuns });
const ALL: readonly OpDef[] = [
  ...unaryMathOps,
  ...compareOps,
  ...variadicOps,
  castOp,
  castLike,
  constantOfShape,
  expand,
  eyeLike,
  pow,
  prelu,
  range,
  tile,
  where,
];
const def = (op: string) => ALL.find((d) => d.op === op)!;

/** ONNX Runtime agrees with the op's CPU side and shape inference. */
const check = (c: OpCase) => expectOpMatchesOrt(def(c.op), c);

const dims = (maxRank = 4) => shapeArb(0, maxRank);

/** `count` shapes that broadcast together: the full shape with leading axes dropped and axes set to 1. */
const broadcastable = (count: number) =>
  fc
    .tuple(
      dims(),
      fc.array(fc.tuple(fc.nat(4), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 })), {
        minLength: count,
        maxLength: count,
      }),
    )
    .map(([full, parts]) =>
      parts.map(([drop, ones]) => full.slice(Math.min(drop, full.length)).map((d, i) => (ones[i] ? 1 : d))),
    );

const multipleOf = (step: number, lo: number, hi: number) =>
  fc.integer({ min: Math.round(lo / step), max: Math.round(hi / step) }).map((k) => k * step);

interface UnaryCase {
  readonly op: string;
  readonly lo?: number;
  readonly hi?: number;
  readonly since?: number;
  readonly dtypes?: readonly ElemType[];
  readonly attrs?: fc.Arbitrary<NonNullable<OpCase['attrs']>>;
  /** Values that exercise the op's special cases (ties for Round, NaN and ±∞ for IsNaN and IsInf). */
  readonly values?: readonly number[];
  /** The WebGPU executor's kernel for float32 inputs with these attributes, when the GPU has one. */
  readonly kernel?: string | ((attrs: NonNullable<OpCase['attrs']>) => string);
}

const UNARY: readonly UnaryCase[] = [
  { op: 'Abs', lo: -5, hi: 5, dtypes: ['float32', 'int64', 'uint8', 'int8'], kernel: 'unary-abs' },
  { op: 'Neg', lo: -5, hi: 5, dtypes: ['float32', 'int64', 'int8'], kernel: 'unary-neg' },
  { op: 'Sign', lo: -2, hi: 2, dtypes: ['float32', 'int64', 'uint8', 'int8'], values: [0] },
  { op: 'Sqrt', lo: 0, hi: 9, kernel: 'unary-sqrt' },
  { op: 'Exp', lo: -5, hi: 5, kernel: 'unary-exp' },
  { op: 'Log', lo: 0.01, hi: 10, kernel: 'unary-log' },
  { op: 'Reciprocal', lo: 0.1, hi: 4, kernel: 'unary-reciprocal' },
  { op: 'Floor', lo: -5, hi: 5, values: [-2, 3], kernel: 'unary-floor' },
  { op: 'Ceil', lo: -5, hi: 5, values: [-2, 3], kernel: 'unary-ceil' },
  { op: 'Round', lo: -5, hi: 5, since: 11, values: [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5] },
  { op: 'Erf', lo: -3, hi: 3, values: [1e-4, -0.3, 0.49, 0.51, 2], kernel: 'unary-erf' },
  { op: 'Sin', lo: -3, hi: 3 },
  { op: 'Cos', lo: -3, hi: 3 },
  { op: 'Tan', lo: -1.4, hi: 1.4 },
  { op: 'Asin', lo: -0.99, hi: 0.99 },
  { op: 'Acos', lo: -0.99, hi: 0.99 },
  { op: 'Atan', lo: -5, hi: 5 },
  { op: 'Sinh', lo: -3, hi: 3 },
  { op: 'Cosh', lo: -3, hi: 3 },
  { op: 'Tanh', lo: -4, hi: 4, kernel: 'unary-tanh' },
  { op: 'Asinh', lo: -5, hi: 5 },
  { op: 'Acosh', lo: 1, hi: 5 },
  { op: 'Atanh', lo: -0.99, hi: 0.99 },
  { op: 'Softplus', lo: -20, hi: 20, kernel: 'unary-softplus' },
  { op: 'Softsign', lo: -5, hi: 5, kernel: 'unary-softsign' },
  { op: 'Mish', lo: -5, hi: 5, since: 18, kernel: 'unary-softplus+unary-tanh+binary-mul' },
  { op: 'Elu', lo: -4, hi: 4, attrs: fc.record({ alpha: multipleOf(1 / 16, 0, 2) }), kernel: 'unary-elu' },
  {
    op: 'Selu',
    lo: -4,
    hi: 4,
    attrs: fc.oneof(
      fc.constant({}),
      fc.record({ alpha: multipleOf(1 / 16, 0, 2), gamma: multipleOf(1 / 16, 0.5, 2) }),
    ),
    kernel: 'unary-selu',
  },
  { op: 'Celu', lo: -4, hi: 4, since: 12, attrs: fc.record({ alpha: multipleOf(1 / 16, 0.25, 2) }) },
  { op: 'ThresholdedRelu', lo: -2, hi: 2, since: 11, attrs: fc.record({ alpha: multipleOf(1 / 8, -1, 1) }) },
  {
    op: 'Shrink',
    lo: -2,
    hi: 2,
    attrs: fc.record({ lambd: multipleOf(1 / 8, 0, 1), bias: multipleOf(1 / 8, -1, 1) }),
  },
  {
    op: 'Gelu',
    lo: -5,
    hi: 5,
    since: 20,
    attrs: fc.record({ approximate: fc.constantFrom('none', 'tanh') }),
    kernel: (attrs) =>
      attrs.approximate === 'tanh' ? 'cpu' : 'binary-mul+unary-erf+unary-hardsigmoid+binary-mul',
  },
  { op: 'Not', dtypes: ['bool'] },
  { op: 'IsNaN', values: [Number.NaN, Number.POSITIVE_INFINITY] },
  {
    op: 'IsInf',
    since: 10,
    values: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
    attrs: fc.record({ detect_negative: fc.constantFrom(0, 1), detect_positive: fc.constantFrom(0, 1) }),
  },
];

/** The case's input: values in its range, its special values at the front where there is room. */
function unaryInput(u: UnaryCase, dtype: ElemType, shape: readonly number[], seed: number): Value {
  const v = Array.from(randomValue(dtype, shape, seed, u.lo ?? -1, u.hi ?? 1).data);
  (u.values ?? []).forEach((s, i) => {
    if (i < v.length && (dtype === 'float32' || Number.isInteger(s)))
      v[i] = dtype === 'uint8' ? Math.abs(s) : s;
  });
  return value(dtype, shape, v);
}

describe('unary math against ONNX Runtime', () => {
  for (const u of UNARY) {
    it(`${u.op}: ${(u.dtypes ?? ['float32']).join(', ')}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          dims(),
          fc.constantFrom(...(u.dtypes ?? ['float32'])),
          fc.nat(),
          fc.integer({ min: Math.max(u.since ?? 13, 13), max: 21 }),
          u.attrs ?? fc.constant({}),
          async (shape, dtype, seed, opset, attrs) => {
            await check({
              op: u.op,
              opset,
              attrs,
              inputs: [fed(unaryInput(u, dtype, shape, seed))],
            });
          },
        ),
        RUNS(1, 8),
      );
    });
  }
});

describe('comparisons and logic against ONNX Runtime', () => {
  const cases: [string, readonly ElemType[]][] = [
    ['Equal', ['float32', 'int64', 'int8', 'bool']],
    ['Less', ['float32', 'int64', 'int8']],
    ['LessOrEqual', ['float32', 'int64', 'int8']],
    ['Greater', ['float32', 'int64', 'int8']],
    ['GreaterOrEqual', ['float32', 'int64', 'int8']],
    ['And', ['bool']],
    ['Or', ['bool']],
    ['Xor', ['bool']],
  ];
  for (const [op, dtypes] of cases) {
    it(`${op}: broadcasting over ${dtypes.join(', ')}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          broadcastable(2),
          fc.constantFrom(...dtypes),
          fc.nat(),
          async ([sa, sb], dtype, seed) => {
            // few distinct values, so that ties occur
            const gen = (s: readonly number[], k: number) => {
              const v = randomValue(dtype === 'bool' ? 'bool' : 'int64', s, seed + k, -2, 3);
              return value(dtype, s, v.data);
            };
            await check({
              op,
              opset: op.includes('OrEqual') ? 16 : 13,
              inputs: [fed(gen(sa!, 0)), fed(gen(sb!, 1))],
            });
          },
        ),
        RUNS(2),
      );
    });
  }
});

describe('Where, Pow, PRelu and the variadic ops against ONNX Runtime', () => {
  it('Where: a bool condition broadcast with float32, int64 and uint8 X and Y', async () => {
    await fc.assert(
      fc.asyncProperty(
        broadcastable(3),
        // ONNX Runtime has no bool Where
        fc.constantFrom<ElemType>('float32', 'int64', 'uint8'),
        fc.nat(),
        async ([sc, sx, sy], dtype, seed) => {
          await check({
            op: 'Where',
            opset: 16,
            inputs: [
              fed(randomValue('bool', sc!, seed)),
              fed(randomValue(dtype, sx!, seed + 1, 0, 100)),
              fed(randomValue(dtype, sy!, seed + 2, 0, 100)),
            ],
          });
        },
      ),
      RUNS(3),
    );
  });

  it('Pow: float and integer bases and exponents, broadcast', async () => {
    const kinds = [
      // [base dtype, exponent dtype, base range, exponent range]
      ['float32', 'float32', 0.1, 3, -2, 2],
      ['float32', 'int64', -3, 3, -2, 4],
      ['int64', 'int64', -4, 5, 0, 4],
      ['int64', 'int64', -3, 4, -2, 0],
      ['int64', 'float32', 1, 6, 0, 2],
    ] as const;
    await fc.assert(
      fc.asyncProperty(broadcastable(2), fc.constantFrom(...kinds), fc.nat(), async ([sa, sb], k, seed) => {
        const [bt, et, blo, bhi, elo, ehi] = k;
        await check({
          op: 'Pow',
          opset: 15,
          inputs: [fed(randomValue(bt, sa!, seed, blo, bhi)), fed(randomValue(et, sb!, seed + 1, elo, ehi))],
        });
      }),
      RUNS(4, 16),
    );
  });

  it('PRelu: the slope broadcast to X', async () => {
    await fc.assert(
      fc.asyncProperty(broadcastable(1), dims(), fc.nat(), async ([slope], extra, seed) => {
        // X: the slope's shape with its unit axes filled in and more leading axes
        const x = [
          ...extra.slice(0, 4 - slope!.length),
          ...slope!.map((d, i) => (d === 1 ? ((seed >> i) % 3) + 1 : d)),
        ];
        await check({
          op: 'PRelu',
          opset: 16,
          inputs: [
            fed(randomValue('float32', x, seed, -2, 2)),
            { value: randomValue('float32', slope!, seed + 1), constant: seed % 2 === 0 },
          ],
        });
      }),
      RUNS(5),
    );
  });

  for (const [op, dtypes] of [
    ['Max', ['float32', 'int64', 'int8']],
    ['Min', ['float32', 'int64', 'int8']],
    ['Sum', ['float32']],
    ['Mean', ['float32']],
  ] as const) {
    it(`${op}: one to four broadcast inputs of ${dtypes.join(', ')}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 }).chain((n) => broadcastable(n)),
          fc.constantFrom<ElemType>(...dtypes),
          fc.nat(),
          async (shapes, dtype, seed) => {
            await check({
              op,
              opset: 13,
              inputs: shapes.map((s, i) => fed(randomValue(dtype, s, seed + i, -10, 10))),
            });
          },
        ),
        RUNS(6),
      );
    });
  }
});

/** Element types that ONNX Runtime's outputs carry here, and what the others are widened to for reading. */
const CAST_TARGETS: readonly { to: number; name: string; widen?: number; lo: number; hi: number }[] = [
  { to: 1, name: 'FLOAT', lo: -1000, hi: 1000 },
  { to: 11, name: 'DOUBLE', lo: -1000, hi: 1000 },
  { to: 10, name: 'FLOAT16', widen: 1, lo: -1000, hi: 1000 },
  { to: 2, name: 'UINT8', lo: 0, hi: 255 },
  { to: 3, name: 'INT8', lo: -128, hi: 127 },
  { to: 4, name: 'UINT16', widen: 7, lo: 0, hi: 65535 },
  { to: 5, name: 'INT16', widen: 7, lo: -32768, hi: 32767 },
  { to: 12, name: 'UINT32', widen: 7, lo: 0, hi: 1e9 },
  { to: 6, name: 'INT32', lo: -1e9, hi: 1e9 },
  { to: 7, name: 'INT64', lo: -1e12, hi: 1e12 },
  { to: 9, name: 'BOOL', lo: -2, hi: 2 },
];

describe('Cast and CastLike against ONNX Runtime', () => {
  for (const t of CAST_TARGETS) {
    it(`Cast to ${t.name} from float32, int64, uint8 and bool: truncation, wrap-around, rounding`, async () => {
      await fc.assert(
        fc.asyncProperty(
          dims(3),
          fc.constantFrom<ElemType>('float32', 'int64', 'uint8', 'bool'),
          fc.nat(),
          async (shape, from, seed) => {
            // floats stay in the target's range (beyond it C++ leaves the result undefined); integers wrap
            const x =
              from === 'float32'
                ? randomValue(from, shape, seed, t.lo, t.hi)
                : from === 'int64'
                  ? randomValue(from, shape, seed, -(2 ** 33), 2 ** 33)
                  : randomValue(from, shape, seed, 0, 256);
            await check({
              op: 'Cast',
              opset: 19,
              attrs: { to: t.to },
              inputs: [fed(x)],
              ...(t.widen ? { widen: t.widen } : {}),
            });
          },
        ),
        RUNS(7, 10),
      );
    });
  }

  // the results of these conversions are the hardware's: x86's "integer indefinite" and its low bits
  it.runIf(process.arch === 'x64')(
    'Cast of NaN, ±∞ and out-of-range floats to integers and bool',
    async () => {
      const v = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 3e10, -3e10, 2.5e9, -0.5];
      const x = value('float32', [v.length], v);
      for (const t of CAST_TARGETS.filter((c) =>
        ['INT64', 'INT32', 'INT16', 'UINT16', 'INT8', 'UINT8', 'BOOL'].includes(c.name),
      ))
        await check({
          op: 'Cast',
          opset: 19,
          attrs: { to: t.to },
          inputs: [fed(x)],
          ...(t.widen ? { widen: t.widen } : {}),
        });
    },
  );

  it('Cast to FLOAT16 rounds ties to even, keeps subnormals and overflows to infinity', async () => {
    const v = [
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      2 ** -24,
      2 ** -25,
      3 * 2 ** -26,
      65504,
      65519,
      65520,
      -7e4,
      0.1,
      -3.3,
    ];
    const x = value('float32', [v.length], v.map(Math.fround));
    await check({ op: 'Cast', opset: 19, attrs: { to: 10 }, widen: 1, inputs: [fed(x)] });
  });

  it('CastLike takes the dtype of its second input', async () => {
    await fc.assert(
      fc.asyncProperty(
        dims(3),
        fc.constantFrom<ElemType>('float32', 'int64', 'bool'),
        fc.constantFrom<ElemType>('float32', 'int64', 'uint8', 'bool'),
        fc.nat(),
        async (shape, from, like, seed) => {
          await check({
            op: 'CastLike',
            opset: 19,
            inputs: [fed(randomValue(from, shape, seed, 0, 200)), fed(randomValue(like, [1], seed))],
          });
        },
      ),
      RUNS(8),
    );
  });
});

describe('shape generators against ONNX Runtime', () => {
  it('Expand: broadcast both ways to a constant shape', async () => {
    await fc.assert(
      fc.asyncProperty(
        broadcastable(2),
        fc.constantFrom<ElemType>('float32', 'int64', 'bool'),
        fc.nat(),
        async ([sx, ss], dtype, seed) => {
          await check({
            op: 'Expand',
            opset: 13,
            inputs: [fed(randomValue(dtype, sx!, seed, -5, 5)), constant(value('int64', [ss!.length], ss!))],
          });
        },
      ),
      RUNS(9),
    );
  });

  it('Tile: constant repeats, zero included', async () => {
    await fc.assert(
      fc.asyncProperty(
        dims().filter((s) => s.length > 0),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
        fc.constantFrom<ElemType>('float32', 'int64'),
        fc.nat(),
        async (shape, reps, dtype, seed) => {
          const repeats = shape.map((_, i) => (seed % 5 === 0 ? reps[i]! : Math.max(1, reps[i]!)));
          await check({
            op: 'Tile',
            opset: 13,
            inputs: [
              fed(randomValue(dtype, shape, seed, -5, 5)),
              constant(value('int64', [repeats.length], repeats)),
            ],
          });
        },
      ),
      RUNS(10),
    );
  });

  it('ConstantOfShape: float 0 by default, or the value tensor in its dtype', async () => {
    const fills: (Value | undefined)[] = [
      undefined,
      value('float32', [1], [2.5]),
      value('int64', [1], [-7]),
      value('bool', [1], [1]),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
        fc.constantFrom(...fills),
        async (shape, fill) => {
          await check({
            op: 'ConstantOfShape',
            opset: 20,
            ...(fill ? { attrs: { value: fill } } : {}),
            inputs: [constant(value('int64', [shape.length], shape))],
          });
        },
      ),
      RUNS(11),
    );
  });

  it('Range: float32 and int64 bounds, either direction', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<ElemType>('float32', 'int64'),
        multipleOf(1 / 8, -6, 6),
        multipleOf(1 / 8, -6, 6),
        multipleOf(1 / 8, -2, 2).filter((d) => d !== 0),
        async (dtype, start, limit, delta) => {
          const r = (v: number) => (dtype === 'int64' ? Math.round(v) || 1 : v);
          await check({
            op: 'Range',
            opset: 11,
            inputs: [
              constant(value(dtype, [], [r(start)])),
              constant(value(dtype, [], [r(limit)])),
              constant(value(dtype, [], [r(delta)])),
            ],
          });
        },
      ),
      RUNS(12),
    );
  });

  it('EyeLike: diagonal offsets k, and the dtype attribute', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })),
        fc.integer({ min: -4, max: 4 }),
        fc.constantFrom(undefined, 1, 7),
        fc.constantFrom<ElemType>('float32', 'int64'),
        async (shape, k, dtype, from) => {
          await check({
            op: 'EyeLike',
            opset: 13,
            attrs: { k, ...(dtype ? { dtype } : {}) },
            inputs: [fed(randomValue(from, shape, k + 9))],
          });
        },
      ),
      RUNS(13),
    );
  });
});

/** The float32 activations, run only through the executors here. */
const ACTIVATIONS: readonly UnaryCase[] = [
  { op: 'Relu', lo: -3, hi: 3, kernel: 'unary-relu' },
  { op: 'Sigmoid', lo: -8, hi: 8, kernel: 'unary-sigmoid' },
  {
    op: 'LeakyRelu',
    lo: -3,
    hi: 3,
    attrs: fc.oneof(fc.constant({}), fc.record({ alpha: multipleOf(1 / 16, -1, 1) })),
    kernel: 'unary-leakyrelu',
  },
  {
    op: 'HardSigmoid',
    lo: -6,
    hi: 6,
    attrs: fc.oneof(
      fc.constant({}),
      fc.record({ alpha: multipleOf(1 / 16, -1, 1), beta: multipleOf(1 / 8, -1, 1) }),
    ),
    kernel: 'unary-hardsigmoid',
  },
  { op: 'HardSwish', lo: -5, hi: 5, since: 14, kernel: 'unary-hardswish' },
];

let gpu: Gpu | undefined;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/** Both executors agree with ONNX Runtime, the WebGPU one running the op on `kernel`. */
const checkGpu = (c: OpCase, kernel: string) => expectExecutorsMatchCase(gpu!, c, { kernel });

const GPU_TIMEOUT = 120_000;

describe('GPU sides through both executors against ONNX Runtime (float32)', () => {
  for (const [k, u] of [...UNARY, ...ACTIVATIONS].entries()) {
    const { kernel } = u;
    if (kernel === undefined) continue;
    it(
      `${u.op}`,
      async () => {
        await fc.assert(
          fc.asyncProperty(
            dims(),
            fc.nat(),
            fc.integer({ min: Math.max(u.since ?? 13, 13), max: 21 }),
            u.attrs ?? fc.constant({}),
            async (shape, seed, opset, attrs) => {
              await checkGpu(
                { op: u.op, opset, attrs, inputs: [fed(unaryInput(u, 'float32', shape, seed))] },
                typeof kernel === 'string' ? kernel : kernel(attrs),
              );
            },
          ),
          RUNS(100 + k, 6),
        );
      },
      GPU_TIMEOUT,
    );
  }

  it(
    'Clip: constant bounds, finite, ±∞ or absent, in either order, on infinities; fed bounds stay on the CPU',
    async () => {
      const bound = fc.option(
        fc.oneof(
          multipleOf(1 / 4, -2, 2),
          fc.constantFrom(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY),
        ),
        { nil: undefined },
      );
      await fc.assert(
        fc.asyncProperty(dims(), bound, bound, fc.boolean(), fc.nat(), async (shape, lo, hi, feed, seed) => {
          // bounds fed at run time must be finite, as all inputs
          const fed = feed && [lo, hi].every((b) => b === undefined || Number.isFinite(b));
          // Clip of 1/x, which is ±∞ at x = ±0 (inputs themselves must be finite)
          const v = Array.from(randomValue('float32', shape, seed, -3, 3).data);
          [0, -0].forEach((s, i) => {
            if (i < v.length) v[i] = s;
          });
          const bounds = [
            ['lo', lo],
            ['hi', hi],
          ] as const;
          const given = bounds.flatMap(([name, b]) =>
            b === undefined ? [] : [{ name, v: value('float32', [], [b]) }],
          );
          const bytes = opModel({
            opset: 13,
            inputs: [
              input('x', 'float32', shape),
              ...given.map((g) => (fed ? input(g.name, 'float32', []) : initializer(g.name, g.v))),
            ],
            nodes: [
              { op: 'Reciprocal', inputs: ['x'], outputs: ['r'] },
              {
                op: 'Clip',
                inputs: ['r', ...bounds.map(([name, b]) => (b === undefined ? '' : name))],
                outputs: ['y'],
              },
            ],
            outputs: ['y'],
          });
          const feeds = {
            x: value('float32', shape, v),
            ...(fed ? Object.fromEntries(given.map((g) => [g.name, g.v])) : {}),
          };
          const [plan] = await expectExecutorsMatchOrt(gpu!, bytes, feeds);
          const kernel = plan!.find((p) => p.op === 'Clip')!.kernel;
          if (fed && given.length) expect(kernel).toBe('cpu');
          else if ([lo ?? 0, hi ?? 0].every(Number.isFinite)) expect(kernel).toBe('unary-clip');
          else expect(kernel).not.toBe('cpu');
        }),
        RUNS(31, 16),
      );
    },
    GPU_TIMEOUT,
  );

  it(
    'Pow: negative bases, integral and fractional exponents (NaN where they meet), broadcast',
    async () => {
      await fc.assert(
        fc.asyncProperty(broadcastable(2), fc.boolean(), fc.nat(), async ([sa, sb], constant, seed) => {
          // every other exponent integral, so that negative bases give signed powers as well as NaN
          const e = Array.from(randomValue('float32', sb!, seed + 1, -3, 4).data, (v, i) =>
            i % 2 ? v : Math.round(v),
          );
          await checkGpu(
            {
              op: 'Pow',
              opset: 15,
              inputs: [
                fed(randomValue('float32', sa!, seed, -3, 3)),
                { value: value('float32', sb!, e), constant: constant },
              ],
            },
            'binary-pow',
          );
        }),
        RUNS(32, 8),
      );
    },
    GPU_TIMEOUT,
  );

  it(
    'PRelu: a constant or fed slope broadcast to X',
    async () => {
      await fc.assert(
        fc.asyncProperty(broadcastable(1), dims(), fc.nat(), async ([slope], extra, seed) => {
          const x = [
            ...extra.slice(0, 4 - slope!.length),
            ...slope!.map((d, i) => (d === 1 ? ((seed >> i) % 3) + 1 : d)),
          ];
          await checkGpu(
            {
              op: 'PRelu',
              opset: 16,
              inputs: [
                fed(randomValue('float32', x, seed, -2, 2)),
                { value: randomValue('float32', slope!, seed + 1), constant: seed % 2 === 0 },
              ],
            },
            'binary-max+binary-min+binary-mul+binary-add',
          );
        }),
        RUNS(33, 5),
      );
    },
    GPU_TIMEOUT,
  );

  it(
    'Max, Min, Sum and Mean: chains of binary kernels over one to four broadcast inputs',
    async () => {
      const kernels = { Max: 'binary-max', Min: 'binary-min', Sum: 'binary-add', Mean: 'binary-add' };
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 }).chain((n) => broadcastable(n)),
          fc.constantFrom(...(Object.keys(kernels) as (keyof typeof kernels)[])),
          fc.nat(),
          async (shapes, op, seed) => {
            await checkGpu(
              {
                op,
                opset: 13,
                inputs: shapes.map((s, i) => fed(randomValue('float32', s, seed + i, -3, 3))),
              },
              kernels[op],
            );
          },
        ),
        RUNS(20, 12),
      );
    },
    GPU_TIMEOUT,
  );

  it(
    'Cast to FLOAT or DOUBLE of a float32 tensor passes the buffer through; other casts stay on the CPU',
    async () => {
      for (const [to, kernel] of [
        [1, 'view'],
        [11, 'view'],
        [7, 'cpu'],
      ] as const)
        await checkGpu(
          { op: 'Cast', opset: 19, attrs: { to }, inputs: [fed(randomValue('float32', [2, 3], to))] },
          kernel,
        );
    },
    GPU_TIMEOUT,
  );

  it(
    'Expand and Tile: repeated axis gathers',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          broadcastable(2),
          fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }),
          fc.nat(),
          async ([sx, ss], reps, seed) => {
            await checkGpu(
              {
                op: 'Expand',
                opset: 13,
                inputs: [fed(randomValue('float32', sx!, seed)), constant(value('int64', [ss!.length], ss!))],
              },
              'axis-gather',
            );
            if (sx!.length === 0) return;
            const repeats = sx!.map((_, i) => reps[i]!);
            await checkGpu(
              {
                op: 'Tile',
                opset: 13,
                inputs: [
                  fed(randomValue('float32', sx!, seed)),
                  constant(value('int64', [repeats.length], repeats)),
                ],
              },
              'axis-gather',
            );
          },
        ),
        RUNS(21, 6),
      );
    },
    GPU_TIMEOUT,
  );
});

describe('a graph of these ops through runCpu and WebGpuSession', () => {
  // x → |x|² and x averaged with a constant of x's shape, tiled and expanded, plus x's sign-folded copy
  const nodes = [
    { op: 'Shape', inputs: ['x'], outputs: ['s'] },
    { op: 'ConstantOfShape', inputs: ['s'], outputs: ['c'], attrs: { value: value('float32', [1], [1.5]) } },
    { op: 'Abs', inputs: ['x'], outputs: ['a'] },
    { op: 'Pow', inputs: ['a', 'two'], outputs: ['p'] },
    { op: 'Mean', inputs: ['x', 'p', 'c'], outputs: ['m'] },
    { op: 'Tile', inputs: ['m', 'reps'], outputs: ['t'] },
    { op: 'Expand', inputs: ['t', 'eshape'], outputs: ['e'] },
    { op: 'Greater', inputs: ['x', 'zero'], outputs: ['g'] },
    { op: 'Neg', inputs: ['x'], outputs: ['n'] },
    { op: 'Where', inputs: ['g', 'x', 'n'], outputs: ['w'] },
    { op: 'Cast', inputs: ['g'], outputs: ['gf'], attrs: { to: 1 } },
    { op: 'Max', inputs: ['w', 'gf'], outputs: ['mx'] },
    { op: 'Tile', inputs: ['mx', 'reps'], outputs: ['tw'] },
    { op: 'Sum', inputs: ['e', 'tw'], outputs: ['y'] },
  ];
  const bytes = opModel({
    opset: 17,
    inputs: [
      input('x', 'float32', [2, 3, 4]),
      initializer('two', value('float32', [], [2])),
      initializer('zero', value('float32', [], [0])),
      initializer('reps', value('int64', [3], [1, 2, 1])),
      initializer('eshape', value('int64', [4], [3, 1, 1, 1])),
    ],
    nodes,
    outputs: ['y'],
  });
  const x = value(
    'float32',
    [2, 3, 4],
    Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7) * 2),
  );

  it(
    'both executors match ONNX Runtime; the arithmetic, Tile and Expand run on the GPU',
    async () => {
      const [plan] = await expectExecutorsMatchOrt(gpu!, bytes, { x });
      const onGpu = new Set(plan!.filter((p) => p.kernel !== 'cpu' && p.kernel !== 'host').map((p) => p.op));
      expect([...onGpu]).toEqual(
        expect.arrayContaining(['Abs', 'Expand', 'Max', 'Mean', 'Neg', 'Pow', 'Sum', 'Tile']),
      );
    },
    GPU_TIMEOUT,
  );
});
