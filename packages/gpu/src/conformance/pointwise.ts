import { seededRandom } from '@zeroskip/quant';
import type { Gpu } from '../device.js';
import { GpuError } from '../errors.js';
import { encodeBinary } from '../kernels/binary.js';
import { broadcastShape } from '../kernels/ops.js';
import { encodeUnary } from '../kernels/unary.js';
import { BINARY_OPS, type BinaryOp, UNARY_OPS, type UnaryOp, type UnaryParams } from '../pointwise.js';
import { applyActivation, binaryOpReference, binaryReference, unaryReference } from '../reference.js';
import { assertClose, assertThrows } from './assert.js';
import type { ConformanceCase } from './case.js';
import { randomArray } from './data.js';

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Inputs inside each op's domain (sqrt and log of positives, no reciprocal of ~0), spread past the interesting range. */
function unaryInput(op: UnaryOp, x: Float32Array): Float32Array {
  switch (op) {
    case 'sqrt':
    case 'log':
      return x.map((v) => Math.abs(v) * 8 + 1e-3);
    case 'reciprocal':
      return x.map((v) => Math.sign(v || 1) * (Math.abs(v) * 4 + 0.1));
    case 'tanh':
    case 'erf':
      return x.map((v) => v * 20);
    case 'exp':
      return x.map((v) => v * 6);
    default:
      return x.map((v) => v * 8);
  }
}

/** Random parameters for the ops that take them, and ONNX's defaults (no params) half the time. */
function unaryParamsFor(op: UnaryOp, r: () => number): UnaryParams | undefined {
  if (r() < 0.5) return undefined;
  const v = () => Math.fround(r() * 2 - 1);
  switch (op) {
    case 'elu':
    case 'leakyrelu':
      return { alpha: Math.abs(v()) };
    case 'selu':
      return { alpha: 1 + v(), gamma: 1 + v() };
    case 'hardsigmoid':
      return { alpha: Math.abs(v()), beta: v() };
    case 'clip': {
      const lo = Math.fround(-Math.abs(v()) * 4);
      // one open bound at a time: ±Infinity as ONNX Runtime's absent min or max
      return r() < 0.5
        ? { min: lo, max: Number.POSITIVE_INFINITY }
        : { min: lo, max: Math.fround(lo + 5 * r()) };
    }
    default:
      return undefined;
  }
}

/** A seeded shape of rank 1–5 with dimensions 1–6. */
function randomShape(r: () => number, maxRank = 5): number[] {
  return Array.from({ length: 1 + Math.floor(r() * maxRank) }, () => 1 + Math.floor(r() * 6));
}

/** Two shapes that broadcast to `out`: leading axes dropped and axes set to 1 at random, for each side. */
function broadcastPair(out: readonly number[], r: () => number): [number[], number[]] {
  const side = () => out.slice(Math.floor(r() * out.length)).map((d) => (r() < 0.3 ? 1 : d));
  return [side(), side()];
}

/** Operands of `op`: pow's bases kept from 0 and its exponents half integral (negative bases included). */
function binaryInputs(op: BinaryOp, a: Float32Array, b: Float32Array): [Float32Array, Float32Array] {
  if (op === 'pow')
    return [
      a.map((v) => Math.sign(v || 1) * (0.25 + 1.75 * Math.abs(v))),
      b.map((v, i) => (i % 2 ? Math.round(v * 3) : v * 3)),
    ];
  if (op === 'div') return [a, b.map((v) => Math.sign(v || 1) * (Math.abs(v) + 0.5))];
  return [a, b];
}

export const pointwiseCases: ConformanceCase[] = [
  {
    group: 'pointwise math',
    name: 'every unary op matches its CPU reference on seeded random shapes and parameters',
    run: async (g: Gpu) => {
      const r = seededRandom(61);
      for (const [i, op] of UNARY_OPS.entries()) {
        const shape = randomShape(r, 4);
        const x = unaryInput(op, randomArray(size(shape), 100 + i));
        const params = unaryParamsFor(op, r);
        const xt = g.tensor(shape, x);
        const y = g.empty(shape);
        await g.submit((rec) => encodeUnary(rec, xt, y, op, params));
        assertClose(
          await g.read(y),
          x.map((v) => unaryReference(op, v, params)),
          1e-5,
          1e-6,
          `${op}${params ? ` ${JSON.stringify(params)}` : ''} over [${shape.join(', ')}]`,
        );
        g.release(xt);
        g.release(y);
      }
      await assertThrows(
        () => g.submit((rec) => encodeUnary(rec, g.empty([1]), g.empty([1]), 'gelu' as UnaryOp)),
        GpuError,
        /unknown unary op 'gelu'/,
      );
    },
  },

  {
    group: 'pointwise math',
    name: 'erf stays within 1e-6 of a double-precision erf over [−6, 6]',
    run: async (g: Gpu) => {
      const x = Float32Array.from({ length: 12_001 }, (_, i) => (i - 6000) / 1000);
      const y = g.empty([x.length]);
      await g.submit((rec) => encodeUnary(rec, g.tensor([x.length], x), y, 'erf'));
      assertClose(
        await g.read(y),
        x.map((v) => unaryReference('erf', v)),
        0,
        1e-6,
        'erf',
      );
    },
  },

  {
    group: 'pointwise math',
    name: 'every binary op broadcasts like numpy over ranks 1–5, with ONNX Runtime’s pow, max and min',
    run: async (g: Gpu) => {
      const r = seededRandom(62);
      for (const [i, op] of BINARY_OPS.entries()) {
        for (let k = 0; k < 3; k++) {
          const [as, bs] = broadcastPair(randomShape(r), r);
          const [a, b] = binaryInputs(
            op,
            randomArray(size(as), 200 + 10 * i + k),
            randomArray(size(bs), 300 + 10 * i + k),
          );
          const out = broadcastShape(as, bs);
          // a fused relu on one draw of each op (not pow's NaNs: WGSL's max(NaN, 0) need not be NaN)
          const activation = k === 2 && op !== 'pow' ? 'relu' : 'none';
          const y = g.empty(out);
          await g.submit((rec) => encodeBinary(rec, g.tensor(as, a), g.tensor(bs, b), y, op, activation));
          const fn = binaryOpReference(op);
          assertClose(
            await g.read(y),
            binaryReference(a, as, b, bs, (p, q) => applyActivation(fn(p, q), activation)).data,
            1e-5,
            1e-6,
            `${op} of [${as.join(', ')}] and [${bs.join(', ')}]${activation === 'relu' ? ' with relu' : ''}`,
          );
        }
      }
    },
  },

  {
    group: 'pointwise math',
    name: 'pow, max and min at the edges: signed powers, 0, 1, NaN and infinities as ONNX Runtime gives them',
    run: async (g: Gpu) => {
      const { NaN: nan, POSITIVE_INFINITY: inf } = Number;
      const pairs: [BinaryOp, number, number][] = [
        ['pow', -2, 3],
        ['pow', -2, 2],
        ['pow', -2, -1],
        ['pow', -2, 0.5],
        ['pow', 0, 2],
        ['pow', 0, -1],
        ['pow', 0, 0],
        ['pow', nan, 0],
        ['pow', 1, nan],
        ['pow', 2, nan],
        ['pow', 3, 0.5],
        ['max', nan, 1],
        ['max', 1, nan],
        ['max', -inf, 2],
        ['min', nan, 1],
        ['min', 3, nan],
        ['min', inf, 2],
      ];
      for (const op of ['pow', 'max', 'min'] as const) {
        const these = pairs.filter(([o]) => o === op);
        const a = Float32Array.from(these, ([, x]) => x);
        const b = Float32Array.from(these, ([, , y]) => y);
        const y = g.empty([a.length]);
        await g.submit((rec) => encodeBinary(rec, g.tensor([a.length], a), g.tensor([b.length], b), y, op));
        assertClose(
          await g.read(y),
          Float32Array.from(a, (x, i) => binaryOpReference(op)(x, b[i]!)),
          1e-6,
          0,
          `${op} edge cases`,
        );
      }
    },
  },
];
