import { describe, expect, it } from 'vitest';
import { GpuError } from '../errors.js';
import { type ConvParams, convGeometry } from '../geometry.js';
import { conv2dReference } from '../reference.js';
import { expectClose, randomArray, useGpu } from '../test-support.js';
import type { Activation } from '../wgsl.js';
import { encodeDepthwiseConv, encodeIm2colGemmConv, encodeImplicitGemmConv } from './gemm-conv.js';

const gpu = useGpu();

interface Case {
  x: [number, number, number, number];
  o: number;
  k: [number, number];
  p: ConvParams;
  act: Activation;
}

// odd sizes, C not a multiple of 4 or 32, stride 2, pads 0/1/2, dilation 2, groups, batch 1 and 3
const CASES: Case[] = [
  { x: [1, 3, 9, 11], o: 5, k: [3, 3], p: { pads: [1, 1, 1, 1] }, act: 'none' },
  { x: [3, 7, 13, 10], o: 70, k: [3, 3], p: { stride: [2, 2], pads: [2, 2, 2, 2] }, act: 'relu' },
  { x: [1, 33, 7, 7], o: 65, k: [1, 1], p: {}, act: 'relu6' },
  { x: [2, 6, 15, 9], o: 9, k: [5, 3], p: { dilation: [2, 2], pads: [0, 1, 2, 1] }, act: 'htanh' },
  { x: [3, 8, 8, 8], o: 12, k: [3, 3], p: { groups: 4, pads: [1, 1, 1, 1] }, act: 'sigmoid' },
  { x: [1, 70, 5, 6], o: 3, k: [2, 2], p: { stride: [1, 2] }, act: 'none' },
];

async function runConv(c: Case, algorithm: 'implicit' | 'im2col' | 'depthwise', seed: number) {
  const g = gpu();
  const wShape = [c.o, c.x[1] / (c.p.groups ?? 1), ...c.k];
  const geo = convGeometry(c.x, wShape, c.p);
  const x = randomArray(
    c.x.reduce((a, b) => a * b),
    seed,
  );
  const w = randomArray(
    wShape.reduce((a, b) => a * b),
    seed + 1,
  );
  const bias = randomArray(c.o, seed + 2);
  const buffers = {
    x: g.tensor(c.x, x),
    w: g.tensor(wShape, w),
    bias: g.tensor([c.o], bias),
    y: g.empty([geo.n, geo.o, geo.ho, geo.wo]),
  };
  const cols = g.empty([geo.groups * geo.k * geo.n * geo.ho * geo.wo]);
  await g.submit((r) => {
    if (algorithm === 'implicit') encodeImplicitGemmConv(r, buffers, geo, c.act);
    else if (algorithm === 'im2col') encodeIm2colGemmConv(r, buffers, cols, geo, c.act);
    else encodeDepthwiseConv(r, buffers, geo, c.act);
  });
  const got = await g.read(buffers.y);
  for (const t of [...Object.values(buffers), cols]) g.release(t);
  return { got, want: conv2dReference(geo, x, w, bias, c.act) };
}

describe('dense convolution kernels against the CPU reference', () => {
  CASES.forEach((c, i) => {
    it(`implicit GEMM and im2col + GEMM: x [${c.x}] → ${c.o}, kernel ${c.k.join('×')}, ${JSON.stringify(c.p)}, ${c.act}`, async () => {
      for (const algorithm of ['implicit', 'im2col'] as const) {
        const { got, want } = await runConv(c, algorithm, 10 * i);
        expectClose(got, want, 1e-5, 1e-5);
      }
    });
  });

  it('depthwise (one input channel per group, channel multiplier 2), stride 2, dilation 2', async () => {
    for (const c of [
      {
        x: [3, 5, 11, 9],
        o: 10,
        k: [3, 3],
        p: { groups: 5, stride: [2, 2], pads: [1, 1, 1, 1] },
        act: 'relu6',
      },
      {
        x: [1, 7, 8, 13],
        o: 7,
        k: [3, 5],
        p: { groups: 7, dilation: [2, 2], pads: [2, 2, 2, 2] },
        act: 'none',
      },
    ] as Case[]) {
      const { got, want } = await runConv(c, 'depthwise', 5);
      expectClose(got, want, 1e-5, 1e-5);
    }
  });

  it('rejects inconsistent shapes with a GpuError', () => {
    expect(() => convGeometry([1, 4, 5, 5], [8, 3, 3, 3], {})).toThrow(GpuError);
    expect(() => convGeometry([1, 4, 2, 2], [8, 4, 3, 3], {})).toThrow(/does not fit/);
  });
});
