import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { int, seedArb } from '../testing/arbitraries.js';
import { expectOpAndExecutorsMatchOrt, fed, inferOp, type OpCase, runOp } from '../testing/op-cases.js';
import { randomFloats } from '../testing/random.js';
import { globalLpPool, globalMaxPool } from './global-pool.js';
import { lpPool } from './lp-pool.js';

// GlobalMaxPool, GlobalLpPool and LpPool against ONNX Runtime: the op's CPU side and shape
// inference, then both executors (small shapes: the GPU is a software one).

const RUNS = { seed: 40_118, numRuns: 20 };

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/** [N, C, spatial…] with 1 to 3 spatial axes. */
const globalShape = fc.tuple(int(1, 2), int(1, 3), fc.array(int(1, 4), { minLength: 1, maxLength: 3 }));

describe('global pools against ONNX Runtime on both executors', { timeout: 120_000 }, () => {
  it('GlobalMaxPool over 1, 2 and 3 spatial axes runs on the reduction kernel', async () => {
    await fc.assert(
      fc.asyncProperty(globalShape, seedArb, fc.constantFrom(7, 13, 21), async ([n, c, s], seed, opset) => {
        const x = randomFloats([n, c, ...s], seed, -2, 2);
        await expectOpAndExecutorsMatchOrt(
          gpu,
          globalMaxPool,
          { op: 'GlobalMaxPool', opset, inputs: [fed(x)] },
          'reduce',
        );
      }),
      RUNS,
    );
  });

  it('GlobalLpPool of order 1 to 4: the reduction kernel computes orders 1 and 2', async () => {
    await fc.assert(
      fc.asyncProperty(globalShape, seedArb, int(1, 4), async ([n, c, s], seed, p) => {
        const x = randomFloats([n, c, ...s], seed, -2, 2);
        const c0: OpCase = { op: 'GlobalLpPool', opset: 13, attrs: { p }, inputs: [fed(x)] };
        await expectOpAndExecutorsMatchOrt(gpu, globalLpPool, c0, p <= 2 ? 'reduce' : 'cpu');
      }),
      RUNS,
    );
  });

  it('refuses an input without spatial axes, and a non-positive order', () => {
    const c: OpCase = { op: 'GlobalMaxPool', opset: 13, inputs: [fed(randomFloats([2, 3], 1))] };
    expect(() => inferOp(globalMaxPool, c)).toThrow(/rank-2 tensor; it takes \[N, C, spatial…\]/);
    const lp: OpCase = {
      op: 'GlobalLpPool',
      opset: 13,
      attrs: { p: 0 },
      inputs: [fed(randomFloats([1, 1, 2], 1))],
    };
    expect(() => runOp(globalLpPool, lp)).toThrow(/p = 0/);
  });
});

describe('LpPool against ONNX Runtime on both executors', { timeout: 120_000 }, () => {
  it('1-D and 2-D with random kernels, strides, pads, auto_pad, orders; dilations and ceil_mode at opset 18', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          dims: int(1, 2),
          n: int(1, 2),
          c: int(1, 2),
          k: fc.array(int(1, 3), { minLength: 2, maxLength: 2 }),
          stride: fc.array(int(1, 2), { minLength: 2, maxLength: 2 }),
          dilation: fc.array(int(1, 2), { minLength: 2, maxLength: 2 }),
          pads: fc.array(int(0, 2), { minLength: 4, maxLength: 4 }),
          extra: fc.array(int(0, 3), { minLength: 2, maxLength: 2 }),
          autoPad: fc.constantFrom('NOTSET', 'NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'),
          ceil: fc.constantFrom(0, 1),
          p: int(1, 3),
          opset: fc.constantFrom(11, 18),
          seed: seedArb,
        }),
        async (r) => {
          const axes = r.dims === 1 ? [1] : [0, 1];
          const newest = r.opset >= 18;
          const k = axes.map((a) => r.k[a]!);
          const dilation = axes.map((a) => (newest && r.autoPad === 'NOTSET' ? r.dilation[a]! : 1));
          // each pad smaller than its kernel, as ONNX Runtime requires
          const pads = [...axes, ...axes].map((a, i) => Math.min(r.pads[i]!, k[axes.indexOf(a)]! - 1));
          const spatial = axes.map((a, i) => dilation[i]! * (k[i]! - 1) + 1 + r.extra[a]!);
          const attrs = {
            kernel_shape: k,
            strides: axes.map((a) => r.stride[a]!),
            auto_pad: r.autoPad,
            p: r.p,
            ...(r.autoPad === 'NOTSET' ? { pads } : {}),
            ...(newest ? { dilations: dilation, ceil_mode: r.ceil } : {}),
          };
          const x = randomFloats([r.n, r.c, ...spatial], r.seed, -2, 2);
          await expectOpAndExecutorsMatchOrt(gpu, lpPool, {
            op: 'LpPool',
            opset: r.opset,
            attrs,
            inputs: [fed(x)],
          });
        },
      ),
      RUNS,
    );
  });
});
