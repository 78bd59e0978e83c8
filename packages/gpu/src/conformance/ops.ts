import type { Gpu } from '../device.js';
import { GpuError } from '../errors.js';
import { encodeBinary } from '../kernels/binary.js';
import {
  batchNormScaleShift,
  broadcastShape,
  encodeAxisGather,
  encodeChannelAffine,
  encodeChannelShuffle,
  encodeConcatInto,
  encodeGlobalAvgPool,
  encodePool,
  encodeSoftmax,
  encodeTranspose,
  poolOutput,
} from '../kernels/ops.js';
import { encodeActivation, encodeParamActivation } from '../kernels/unary.js';
import {
  applyActivation,
  binaryReference,
  poolReference,
  softmaxReference,
  transposeReference,
} from '../reference.js';
import { assertClose, assertEqual, assertThrows } from './assert.js';
import type { ConformanceCase } from './case.js';
import { randomArray } from './data.js';

export const opsCases: ConformanceCase[] = [
  {
    group: 'support ops',
    name: 'batch norm (folded to scale/shift) with fused relu6, and every activation',
    run: async (g: Gpu) => {
      const [n, c, hw] = [3, 5, 7 * 9];
      const x = randomArray(n * c * hw, 1).map((v) => v * 8);
      const [gamma, beta, mean] = [randomArray(c, 2), randomArray(c, 3), randomArray(c, 4)];
      const variance = randomArray(c, 5).map((v) => Math.abs(v) + 0.1);
      const { scale, shift } = batchNormScaleShift(gamma, beta, mean, variance, 1e-5);
      const xt = g.tensor([n, c, 7, 9], x);
      const y = g.empty([n, c, 7, 9]);
      const acts = ['relu', 'htanh', 'sigmoid'] as const;
      const ys = acts.map(() => g.empty([n, c, 7, 9]));
      await g.submit((r) => {
        encodeChannelAffine(r, xt, g.tensor([c], scale), g.tensor([c], shift), y, c, hw, 'relu6');
        for (const [i, a] of acts.entries()) encodeActivation(r, xt, ys[i]!, a);
      });
      const want = x.map((v, e) => {
        const ch = Math.floor(e / hw) % c;
        return applyActivation(
          ((v - mean[ch]!) / Math.sqrt(variance[ch]! + 1e-5)) * gamma[ch]! + beta[ch]!,
          'relu6',
        );
      });
      assertClose(await g.read(y), want, 1e-5, 1e-5);
      for (const [i, a] of acts.entries())
        assertClose(
          await g.read(ys[i]!),
          x.map((v) => applyActivation(v, a)),
          1e-6,
          1e-6,
        );
    },
  },

  {
    group: 'support ops',
    name: 'binary ops broadcast like numpy (residual add, per-channel mul, scalar div)',
    run: async (g: Gpu) => {
      const cases: [number[], number[], 'add' | 'sub' | 'mul' | 'div'][] = [
        [[2, 3, 4, 5], [2, 3, 4, 5], 'add'],
        [[2, 3, 4, 5], [3, 1, 1], 'mul'],
        [[1, 3, 1, 5], [2, 1, 4, 1], 'sub'],
        [[4, 6], [1], 'div'],
      ];
      for (const [as, bs, op] of cases) {
        const a = randomArray(
          as.reduce((p, q) => p * q),
          6,
        );
        const b = randomArray(
          bs.reduce((p, q) => p * q),
          7,
        ).map((v) => (op === 'div' ? v + 3 : v));
        const shape = broadcastShape(as, bs);
        const y = g.empty(shape);
        await g.submit((r) =>
          encodeBinary(r, g.tensor(as, a), g.tensor(bs, b), y, op, op === 'add' ? 'relu' : 'none'),
        );
        const fn = {
          add: (p: number, q: number) => Math.max(p + q, 0),
          sub: (p: number, q: number) => p - q,
          mul: (p: number, q: number) => p * q,
          div: (p: number, q: number) => p / q,
        }[op];
        assertClose(await g.read(y), binaryReference(a, as, b, bs, fn).data, 1e-6, 1e-6);
      }
      await assertThrows(() => broadcastShape([2, 3], [4]), GpuError, /do not broadcast/);
    },
  },

  {
    group: 'support ops',
    name: 'max and average pooling with pads, stride, dilation, ceil mode, count_include_pad',
    run: async (g: Gpu) => {
      const shape: [number, number, number, number] = [2, 3, 11, 8];
      const x = randomArray(
        shape.reduce((p, q) => p * q),
        8,
      );
      const xt = g.tensor(shape, x);
      for (const [kind, k, s, pads, d, ceil, cip] of [
        ['max', [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], false, false],
        ['max', [2, 3], [2, 1], [0, 0, 0, 0], [2, 1], true, false],
        ['avg', [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], true, false],
        ['avg', [2, 2], [2, 2], [1, 0, 1, 0], [1, 1], false, true],
      ] as const) {
        const ho = poolOutput(11, k[0], s[0], pads[0], pads[2], d[0], ceil);
        const wo = poolOutput(8, k[1], s[1], pads[1], pads[3], d[1], ceil);
        const y = g.empty([2, 3, ho, wo]);
        await g.submit((r) =>
          encodePool(r, xt, y, kind, {
            kernel: k,
            stride: s,
            pads,
            dilation: d,
            ceilMode: ceil,
            countIncludePad: cip,
          }),
        );
        assertClose(await g.read(y), poolReference(x, shape, kind, k, s, pads, d, ho, wo, cip), 1e-6, 1e-6);
      }
    },
  },

  {
    group: 'support ops',
    name: 'global average pooling, concat, transpose, channel shuffle and softmax',
    run: async (g: Gpu) => {
      const x = randomArray(3 * 6 * 5 * 7, 9);
      const xt = g.tensor([3, 6, 5, 7], x);
      const x2 = randomArray(3 * 2 * 5 * 7, 10);
      const gap = g.empty([3, 6]);
      const cat = g.empty([3, 8, 5, 7]);
      const tr = g.empty([7, 3, 5, 6]);
      const sh = g.empty([3, 6, 5, 7]);
      const sm = g.empty([18, 35]);
      await g.submit((r) => {
        encodeGlobalAvgPool(r, xt, gap);
        encodeConcatInto(r, xt, cat, 1, 0);
        encodeConcatInto(r, g.tensor([3, 2, 5, 7], x2), cat, 1, 6);
        encodeTranspose(r, xt, tr, [3, 0, 2, 1]);
        encodeChannelShuffle(r, xt, sh, 3);
        encodeSoftmax(r, { ...xt, shape: [18, 35] }, sm);
      });
      assertClose(
        await g.read(gap),
        Float32Array.from(
          { length: 18 },
          (_, i) => x.subarray(i * 35, (i + 1) * 35).reduce((a, b) => a + b, 0) / 35,
        ),
        1e-6,
        1e-6,
      );
      const wantCat = new Float32Array(3 * 8 * 35);
      for (let n = 0; n < 3; n++) {
        wantCat.set(x.subarray(n * 210, (n + 1) * 210), n * 280);
        wantCat.set(x2.subarray(n * 70, (n + 1) * 70), n * 280 + 210);
      }
      assertEqual(await g.read(cat), wantCat, 'concat');
      assertEqual(await g.read(tr), transposeReference(x, [3, 6, 5, 7], [3, 0, 2, 1]), 'transpose');
      assertEqual(await g.read(sh), transposeReference(x, [3, 3, 2, 35], [0, 2, 1, 3]), 'channel shuffle');
      assertClose(await g.read(sm), softmaxReference(x, 35), 1e-6, 1e-7);
    },
  },
  {
    group: 'support ops',
    name: 'axis gathers (slice with step, split half, gather by index) and parametric activations',
    run: async (g: Gpu) => {
      const x = randomArray(2 * 9 * 5, 31);
      const xt = g.tensor([2, 9, 5], x);
      const sliced = g.empty([2, 3, 5]);
      const gathered = g.empty([2, 4, 5]);
      const acts = [g.empty([90]), g.empty([90]), g.empty([90])];
      await g.submit((r) => {
        encodeAxisGather(r, xt, sliced, 1, { start: 1, step: 3, count: 3 });
        encodeAxisGather(r, xt, gathered, 1, { indices: [8, 0, 0, 4] });
        encodeParamActivation(r, { ...xt, shape: [90] }, acts[0]!, 'leakyrelu', 0.2);
        encodeParamActivation(r, { ...xt, shape: [90] }, acts[1]!, 'hardsigmoid', 0.2, 0.5);
        encodeParamActivation(r, { ...xt, shape: [90] }, acts[2]!, 'hardswish');
      });
      const pick = (cols: number[]) =>
        Float32Array.from(
          { length: 2 * cols.length * 5 },
          (_, e) =>
            x[
              (Math.floor(e / (cols.length * 5)) * 9 + cols[Math.floor(e / 5) % cols.length]!) * 5 + (e % 5)
            ]!,
        );
      assertEqual(await g.read(sliced), pick([1, 4, 7]), 'slice');
      assertEqual(await g.read(gathered), pick([8, 0, 0, 4]), 'gather');
      assertClose(
        await g.read(acts[0]!),
        x.map((v) => (v >= 0 ? v : 0.2 * v)),
        1e-6,
        1e-7,
        'leaky relu',
      );
      assertClose(
        await g.read(acts[1]!),
        x.map((v) => Math.min(1, Math.max(0, 0.2 * v + 0.5))),
        1e-6,
        1e-7,
        'hard sigmoid',
      );
      assertClose(
        await g.read(acts[2]!),
        x.map((v) => v * Math.min(1, Math.max(0, v / 6 + 0.5))),
        1e-6,
        1e-7,
        'hard swish',
      );
    },
  },
];
