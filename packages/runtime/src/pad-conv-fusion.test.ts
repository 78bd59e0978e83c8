import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCpu } from './cpu-session.js';
import { importOnnx } from './onnx.js';
import { optimize } from './passes.js';
import { int, seedArb } from './testing/arbitraries.js';
import { expectOptimizedMatchesOrt } from './testing/executors.js';
import { expectClose, initializer, input, opModel, runOrt, toTensor, value } from './testing/onnx-graph.js';
import { randomFloats } from './testing/random.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

interface Case {
  readonly n: number;
  readonly c: number;
  readonly hw: readonly [number, number];
  /** The Pad's pads over [N, C, H, W], begins then ends. */
  readonly pads: readonly number[];
  /** Opset 18 names the padded axes (H and W only). */
  readonly axes: boolean;
  readonly value?: number | undefined;
  readonly mode?: string;
  /** The conv's own pads, [top, left, bottom, right]. */
  readonly convPads: readonly number[];
  readonly stride: number;
  readonly seed: number;
}

function model(k: Case): Uint8Array {
  const pads = k.axes ? [k.pads[2]!, k.pads[3]!, k.pads[6]!, k.pads[7]!] : k.pads;
  return opModel({
    opset: k.axes ? 18 : 13,
    inputs: [
      input('x', 'float32', [k.n, k.c, ...k.hw]),
      initializer('pads', value('int64', [pads.length], pads)),
      ...(k.value === undefined ? [] : [initializer('v', value('float32', [], [k.value]))]),
      ...(k.axes ? [initializer('axes', value('int64', [2], [2, -1]))] : []),
      initializer('w', randomFloats([3, k.c + k.pads[1]! + k.pads[5]!, 3, 2], k.seed)),
    ],
    outputs: ['y'],
    nodes: [
      {
        op: 'Pad',
        inputs: ['x', 'pads', k.value === undefined ? '' : 'v', ...(k.axes ? ['axes'] : [])],
        outputs: ['p'],
        attrs: k.mode ? { mode: k.mode } : {},
      },
      {
        op: 'Conv',
        inputs: ['p', 'w'],
        outputs: ['y'],
        attrs: { pads: [...k.convPads], strides: [k.stride, k.stride] },
      },
    ],
  });
}

const spatial = fc.tuple(int(0, 2), int(0, 2), int(0, 2), int(0, 2));
const foldable: fc.Arbitrary<Case> = fc.record({
  n: int(1, 2),
  c: int(1, 3),
  hw: fc.tuple(int(2, 7), int(2, 7)),
  pads: spatial.map(([t, l, b, r]) => [0, 0, t, l, 0, 0, b, r]),
  axes: fc.boolean(),
  value: fc.constantFrom(undefined, 0),
  convPads: fc.tuple(int(0, 1), int(0, 1), int(0, 1), int(0, 1)),
  stride: int(1, 2),
  seed: seedArb,
});

describe('a zero Pad before a conv goes into the conv', () => {
  it('TensorFlow-style zero pads: no Pad left, and both executors match ONNX Runtime', async () => {
    await fc.assert(
      fc.asyncProperty(foldable, async (k) => {
        const bytes = model(k);
        const g = await expectOptimizedMatchesOrt(gpu, bytes, {
          x: randomFloats([k.n, k.c, ...k.hw], k.seed + 1),
        });
        expect(g.nodes.map((n) => n.op)).toEqual(['Conv']);
      }),
      { seed: 17, numRuns: 8 },
    );
  });

  it('keeps pads it cannot fold: a non-zero value, another mode, channel or negative pads', async () => {
    const base: Case = {
      n: 1,
      c: 2,
      hw: [5, 4],
      pads: [0, 0, 1, 1, 0, 0, 1, 0],
      axes: false,
      convPads: [0, 0, 0, 0],
      stride: 1,
      seed: 3,
    };
    for (const k of [
      { ...base, value: 0.5 },
      { ...base, mode: 'reflect' },
      { ...base, pads: [0, 1, 1, 1, 0, 0, 1, 0], c: 1 },
      { ...base, pads: [0, 0, 1, -1, 0, 0, 1, 0] },
    ]) {
      const bytes = model(k);
      const feeds = { x: randomFloats([k.n, k.c, ...k.hw], 9) };
      const g = optimize(importOnnx(bytes));
      expect(g.nodes.map((n) => n.op)).toEqual(['Pad', 'Conv']);
      const want = await runOrt(bytes, feeds);
      expectClose(runCpu(g, { x: toTensor(feeds.x) }).y, want.y);
    }
  });
});
