import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { value } from '../testing/onnx-graph.js';
import {
  expectExecutorsMatchCase,
  expectOpMatchesOrt,
  nodeOf,
  type OpCase,
  uniform,
} from './compare-with-ort.js';
import { globalLpPool, globalMaxPool } from './global-pool.js';
import { lpPool } from './lp-pool.js';
import type { OpDef } from './types.js';

// GlobalMaxPool, GlobalLpPool and LpPool against ONNX Runtime: the op's CPU side and shape
// inference, then both executors (small shapes: the GPU is a software one).

const RUNS = { seed: 40_118, numRuns: 20 };

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/** Expects the op, and both executors with the WebGPU one planning `kernel`, to match ONNX Runtime. */
async function check(def: OpDef, c: OpCase, kernel: string): Promise<void> {
  await expectOpMatchesOrt(def, c);
  await expectExecutorsMatchCase(gpu, c, kernel);
}

const int = (min: number, max: number) => fc.integer({ min, max });
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const floats = (shape: readonly number[], seed: number) =>
  value('float32', shape, uniform(size(shape), seed, -2, 2));

/** [N, C, spatial…] with 1 to 3 spatial axes. */
const globalShape = fc.tuple(int(1, 2), int(1, 3), fc.array(int(1, 4), { minLength: 1, maxLength: 3 }));

describe('global pools against ONNX Runtime on both executors', { timeout: 120_000 }, () => {
  it('GlobalMaxPool over 1, 2 and 3 spatial axes runs on the reduction kernel', async () => {
    await fc.assert(
      fc.asyncProperty(
        globalShape,
        int(1, 1 << 30),
        fc.constantFrom(7, 13, 21),
        async ([n, c, s], seed, opset) => {
          const x = floats([n, c, ...s], seed);
          await check(globalMaxPool, { op: 'GlobalMaxPool', opset, inputs: [{ value: x }] }, 'reduce');
        },
      ),
      RUNS,
    );
  });

  it('GlobalLpPool of order 1 to 4: the reduction kernel computes orders 1 and 2', async () => {
    await fc.assert(
      fc.asyncProperty(globalShape, int(1, 1 << 30), int(1, 4), async ([n, c, s], seed, p) => {
        const x = floats([n, c, ...s], seed);
        const c0: OpCase = { op: 'GlobalLpPool', opset: 13, attrs: { p }, inputs: [{ value: x }] };
        await check(globalLpPool, c0, p <= 2 ? 'reduce' : 'cpu');
      }),
      RUNS,
    );
  });

  it('refuses an input without spatial axes, and a non-positive order', () => {
    const c: OpCase = { op: 'GlobalMaxPool', opset: 13, inputs: [] };
    expect(() => globalMaxPool.infer(nodeOf(c), [{ shape: [2, 3], dtype: 'float32' }], c)).toThrow(
      /rank-2 tensor; it takes \[N, C, spatial…\]/,
    );
    const lp: OpCase = {
      op: 'GlobalLpPool',
      opset: 13,
      attrs: { p: 0 },
      inputs: [{ value: floats([1, 1, 2], 1) }],
    };
    expect(() => globalLpPool.run(nodeOf(lp), [floats([1, 1, 2], 1) as never], lp)).toThrow(/p = 0/);
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
          seed: int(1, 1 << 30),
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
          const x = floats([r.n, r.c, ...spatial], r.seed);
          await check(lpPool, { op: 'LpPool', opset: r.opset, attrs, inputs: [{ value: x }] }, 'cpu');
        },
      ),
      RUNS,
    );
  });
});
