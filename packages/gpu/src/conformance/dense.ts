import { seededRandom } from '@zeroskip/quant';
import type { Gpu } from '../device.js';
import { GpuError } from '../errors.js';
import { type ConvParams, convGeometry } from '../geometry.js';
import { encodeDepthwiseConv, encodeIm2colGemmConv, encodeImplicitGemmConv } from '../kernels/gemm-conv.js';
import { conv2dReference } from '../reference.js';
import type { Activation } from '../wgsl.js';
import { assertClose, assertThrows } from './assert.js';
import type { ConformanceCase } from './case.js';
import { randomArray } from './data.js';

export interface Case {
  readonly x: [number, number, number, number];
  readonly o: number;
  readonly k: [number, number];
  readonly p: ConvParams;
  readonly act: Activation;
}

// odd sizes, C not a multiple of 4 or 32, stride 2, pads 0/1/2, dilation 2, groups, batch 1 and 3
const CASES: Case[] = [
  { x: [1, 3, 9, 11], o: 5, k: [3, 3], p: { pads: [1, 1, 1, 1] }, act: 'none' },
  { x: [3, 7, 13, 10], o: 70, k: [3, 3], p: { stride: [2, 2], pads: [2, 2, 2, 2] }, act: 'relu' },
  { x: [1, 33, 7, 7], o: 65, k: [1, 1], p: {}, act: 'relu6' },
  { x: [2, 6, 15, 9], o: 9, k: [5, 3], p: { dilation: [2, 2], pads: [0, 1, 2, 1] }, act: 'htanh' },
  { x: [3, 8, 8, 8], o: 12, k: [3, 3], p: { groups: 4, pads: [1, 1, 1, 1] }, act: 'sigmoid' },
  { x: [1, 70, 5, 6], o: 3, k: [2, 2], p: { stride: [1, 2] }, act: 'none' },
  // few output tiles and a deep k: the implicit GEMM splits k (2 and 5 ways, the last split short)
  { x: [1, 64, 7, 7], o: 72, k: [3, 3], p: { pads: [1, 1, 1, 1] }, act: 'relu' },
  { x: [2, 300, 5, 5], o: 20, k: [3, 3], p: { groups: 2, pads: [1, 1, 1, 1] }, act: 'relu6' },
];

/** Shapes drawn from a fixed seed (so a failure reproduces) within the ranges the fixed cases cover. */
export function randomConvCases(count: number, seed: number): Case[] {
  const r = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  return Array.from({ length: count }, () => {
    const groups = pick([1, 1, 2, 3]);
    const k = pick([1, 2, 3, 5]);
    const d = k > 1 ? pick([1, 2]) : 1;
    const pad = pick([0, 1, 2]);
    const extent = d * (k - 1) + 1;
    return {
      x: [
        pick([1, 3]),
        groups * (1 + Math.floor(r() * 12)),
        extent + Math.floor(r() * 12),
        extent + Math.floor(r() * 12),
      ],
      o: groups * (1 + Math.floor(r() * 24)),
      k: [k, k],
      p: {
        stride: [pick([1, 2]), pick([1, 2])],
        pads: [pad, pick([0, 1, 2]), pad, pick([0, 1, 2])],
        dilation: [d, d],
        groups,
      },
      act: pick(['none', 'relu', 'relu6'] as const),
    };
  });
}

const DEPTHWISE: Case[] = [
  { x: [3, 5, 11, 9], o: 10, k: [3, 3], p: { groups: 5, stride: [2, 2], pads: [1, 1, 1, 1] }, act: 'relu6' },
  { x: [1, 7, 8, 13], o: 7, k: [3, 5], p: { groups: 7, dilation: [2, 2], pads: [2, 2, 2, 2] }, act: 'none' },
];

async function checkConv(
  g: Gpu,
  c: Case,
  algorithm: 'implicit' | 'im2col' | 'depthwise',
  seed: number,
): Promise<void> {
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
  assertClose(got, conv2dReference(geo, x, w, bias, c.act), 1e-5, 1e-5, `${algorithm} conv`);
}

const describeCase = (c: Case) =>
  `x [${c.x}] → ${c.o}, kernel ${c.k.join('×')}, ${JSON.stringify(c.p)}, ${c.act}`;

export const denseCases: ConformanceCase[] = [
  ...[...CASES, ...randomConvCases(3, 2026)].map((c, i) => ({
    group: 'dense conv',
    name: `implicit GEMM and im2col + GEMM: ${describeCase(c)}`,
    run: async (g: Gpu) => {
      await checkConv(g, c, 'implicit', 10 * i);
      await checkConv(g, c, 'im2col', 10 * i);
    },
  })),
  ...DEPTHWISE.map((c) => ({
    group: 'dense conv',
    name: `depthwise: ${describeCase(c)}`,
    run: (g: Gpu) => checkConv(g, c, 'depthwise', 5),
  })),
  {
    group: 'dense conv',
    name: 'inconsistent shapes give a GpuError',
    run: async () => {
      await assertThrows(() => convGeometry([1, 4, 5, 5], [8, 3, 3, 3], {}), GpuError);
      await assertThrows(() => convGeometry([1, 4, 2, 2], [8, 4, 3, 3], {}), GpuError, /does not fit/);
    },
  },
];
