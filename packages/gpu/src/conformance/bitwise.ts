import {
  binarizeXnorWeights,
  dorefaWeights,
  packBitplanes,
  packSigns,
  packTernary,
  ternarize,
  xnorInputScale,
} from '@zeroskip/quant';
import { binaryWeightPlanes, dorefaWeightPlanes, ternaryWeightPlanes } from '../bit-weights.js';
import type { Gpu } from '../device.js';
import { GpuError } from '../errors.js';
import { type ConvParams, convGeometry } from '../geometry.js';
import {
  type BitEncoding,
  encodeBitwiseConv,
  encodeBitwiseConvSign,
  encodePackBits,
  planeCount,
  signThresholds,
} from '../kernels/bitwise.js';
import { applyActivation, convReference } from '../reference.js';
import { assertClose, assertEqual, assertThrows } from './assert.js';
import type { ConformanceCase } from './case.js';
import { randomArray } from './data.js';

const sgn = (v: number) => (v < 0 ? -1 : 1);

const SHAPES: [number, number, number, number][] = [
  [1, 5, 3, 4],
  [3, 70, 5, 3],
  [2, 33, 1, 1],
];

const packCases: ConformanceCase[] = SHAPES.map((shape) => ({
  group: 'bit packing (equals @zeroskip/quant)',
  name: `shape [${shape}]: signs, ternary planes and 3 bitplanes bit-exact`,
  run: async (g: Gpu) => {
    const x = randomArray(
      shape.reduce((a, b) => a * b),
      1,
    );
    const xt = g.tensor(shape, x);
    const encodings: BitEncoding[] = [
      { kind: 'binary' },
      { kind: 'ternary', delta: 0.3 },
      { kind: 'bitplanes', bits: 3 },
    ];
    const words = shape[0] * shape[2] * shape[3] * Math.ceil(shape[1] / 32);
    const outs = encodings.map((e) => g.empty([planeCount(e) * words], 'u32'));
    await g.submit((r) => {
      for (const [i, e] of encodings.entries()) encodePackBits(r, xt, outs[i]!, shape, e);
    });
    const [b, t, k] = await Promise.all(outs.map((o) => g.readU32(o)));
    assertEqual(b!, packSigns(x, shape).data, 'sign bits');
    const codes = Array.from(x, (v) => (Math.abs(v) > 0.3 ? sgn(v) : 0));
    const pt = packTernary(codes, shape);
    assertEqual(t!, Uint32Array.from([...pt.nonzero.data, ...pt.negative.data]), 'ternary planes');
    const q = Array.from(x, (v) => Math.round(Math.min(Math.max(v, 0), 1) * 7));
    assertEqual(
      k!,
      Uint32Array.from(packBitplanes(q, shape, 3).planes.flatMap((p) => [...p.data])),
      'bitplanes',
    );
  },
}));

interface Case {
  x: [number, number, number, number];
  o: number;
  k: [number, number];
  p: ConvParams;
}
const CASES: Case[] = [
  { x: [1, 5, 9, 7], o: 6, k: [3, 3], p: { pads: [1, 1, 1, 1] } },
  { x: [3, 70, 7, 9], o: 40, k: [3, 3], p: { stride: [2, 2], pads: [2, 2, 2, 2] } },
  { x: [2, 33, 8, 6], o: 9, k: [3, 2], p: { dilation: [2, 2], pads: [0, 1, 2, 1] } },
  { x: [3, 100, 1, 1], o: 17, k: [1, 1], p: {} }, // a fully-connected layer
];

async function setup(g: Gpu, c: Case, encoding: BitEncoding) {
  const wShape = [c.o, c.x[1], ...c.k] as const;
  const geo = convGeometry(c.x, wShape, c.p);
  const x = randomArray(
    c.x.reduce((a, b) => a * b),
    21,
  );
  const w = randomArray(
    wShape.reduce((a, b) => a * b),
    22,
  );
  const xt = g.tensor(c.x, x);
  const words = c.x[0] * c.x[2] * c.x[3] * Math.ceil(c.x[1] / 32);
  const xb = g.empty([planeCount(encoding) * words], 'u32');
  return { geo, x, w, wShape, xt, xb, encoding };
}

const convCases: ConformanceCase[] = CASES.flatMap((c, i) => [
  {
    group: 'bitwise conv',
    name: `XNOR: x [${c.x}] → ${c.o}, ${c.k.join('×')}, ${JSON.stringify(c.p)}: integers exact, α·K scaling, BN + sign`,
    run: async (g: Gpu) => {
      const s = await setup(g, c, { kind: 'binary' });
      const { geo } = s;
      const ones = g.tensor([c.o], new Float32Array(c.o).fill(1));
      const zeros = g.tensor([c.o], new Float32Array(c.o));
      const wb = g.tensor([binaryWeightPlanes(s.w, s.wShape).length], binaryWeightPlanes(s.w, s.wShape));
      const xnor = binarizeXnorWeights(s.w, s.wShape);
      const bias = randomArray(c.o, 23 + i);
      const kmap = xnorInputScale(s.x, c.x, c.k[0], c.k[1], { stride: geo.sh, padding: geo.pt });
      const useK =
        geo.pt === geo.pb && geo.pl === geo.pr && geo.pt === geo.pl && geo.sh === geo.sw && geo.dh === 1;
      const yInt = g.empty([geo.n, c.o, geo.ho, geo.wo]);
      const yScaled = g.empty([geo.n, c.o, geo.ho, geo.wo]);
      const bnScale = randomArray(c.o, 24).map((v, o) => (o === 0 ? 0 : v));
      const bnShift = randomArray(c.o, 25);
      const { threshold, mode } = signThresholds(bnScale, bnShift);
      const ySign = g.empty([geo.n * geo.ho * geo.wo * Math.ceil(c.o / 32)], 'u32');
      await g.submit((r) => {
        encodePackBits(r, s.xt, s.xb, c.x, s.encoding);
        encodeBitwiseConv(
          r,
          { x: s.xb, w: wb, scale: ones, bias: zeros, y: yInt },
          geo,
          { kind: 'xnor' },
          'none',
        );
        encodeBitwiseConv(
          r,
          {
            x: s.xb,
            w: wb,
            scale: g.tensor([c.o], xnor.alpha),
            bias: g.tensor([c.o], bias),
            y: yScaled,
            ...(useK ? { k: g.tensor(kmap.shape, kmap.scale) } : {}),
          },
          geo,
          { kind: 'xnor' },
          'htanh',
        );
        encodeBitwiseConvSign(
          r,
          { x: s.xb, w: wb, threshold: g.tensor([c.o], threshold), mode: g.tensor([c.o], mode), y: ySign },
          geo,
          { kind: 'xnor' },
        );
      });
      const acc = convReference(
        geo,
        (n, o, ci, iy, ix, ky, kx) =>
          sgn(s.x[((n * geo.c + ci) * geo.h + iy) * geo.w + ix]!) *
          sgn(s.w[((o * geo.c + ci) * geo.kh + ky) * geo.kw + kx]!),
        (_o, a) => a,
      );
      assertEqual(await g.read(yInt), acc, 'XNOR integer accumulators');
      const hwo = geo.ho * geo.wo;
      const scaled = acc.map((a, e) => {
        const o = Math.floor(e / hwo) % c.o;
        const kv = useK ? kmap.scale[Math.floor(e / (hwo * c.o)) * hwo + (e % hwo)]! : 1;
        return applyActivation(xnor.alpha[o]! * a * kv + bias[o]!, 'htanh');
      });
      assertClose(await g.read(yScaled), scaled, 1e-5, 1e-5, 'XNOR with α, K, bias, htanh');
      const pre = acc.map(
        (a, e) => bnScale[Math.floor(e / hwo) % c.o]! * a + bnShift[Math.floor(e / hwo) % c.o]!,
      );
      assertEqual(
        await g.readU32(ySign),
        packSigns(pre, [geo.n, c.o, geo.ho, geo.wo]).data,
        'BN + sign packed output',
      );
    },
  },
  {
    group: 'bitwise conv',
    name: `ternary and DoReFa 2×3-bit: x [${c.x}] → ${c.o}`,
    run: async (g: Gpu) => {
      const tern = await setup(g, c, { kind: 'ternary', delta: 0.25 });
      const { geo } = tern;
      const tw = ternarize(tern.w);
      const twb = ternaryWeightPlanes(tw.codes, tern.wShape);
      const ones = g.tensor([c.o], new Float32Array(c.o).fill(1));
      const zeros = g.tensor([c.o], new Float32Array(c.o));
      const yT = g.empty([geo.n, c.o, geo.ho, geo.wo]);
      const dw = dorefaWeights(tern.w, 3);
      const dwb = dorefaWeightPlanes(dw, tern.wShape, 3);
      const words = c.x[0] * c.x[2] * c.x[3] * Math.ceil(c.x[1] / 32);
      const xd = g.empty([2 * words], 'u32');
      const yD = g.empty([geo.n, c.o, geo.ho, geo.wo]);
      await g.submit((r) => {
        encodePackBits(r, tern.xt, tern.xb, c.x, tern.encoding);
        encodeBitwiseConv(
          r,
          { x: tern.xb, w: g.tensor([twb.length], twb), scale: ones, bias: zeros, y: yT },
          geo,
          { kind: 'ternary' },
          'none',
        );
        encodePackBits(r, tern.xt, xd, c.x, { kind: 'bitplanes', bits: 2 });
        encodeBitwiseConv(
          r,
          { x: xd, w: g.tensor([dwb.length], dwb), scale: ones, bias: zeros, y: yD },
          geo,
          { kind: 'dorefa', activationBits: 2, weightBits: 3 },
          'none',
        );
      });
      const xAt = (n: number, ci: number, iy: number, ix: number) =>
        tern.x[((n * geo.c + ci) * geo.h + iy) * geo.w + ix]!;
      const wAt = (o: number, ci: number, ky: number, kx: number) =>
        ((o * geo.c + ci) * geo.kh + ky) * geo.kw + kx;
      const tx = (v: number) => (Math.abs(v) > 0.25 ? sgn(v) : 0);
      assertEqual(
        await g.read(yT),
        convReference(
          geo,
          (n, o, ci, iy, ix, ky, kx) => tx(xAt(n, ci, iy, ix)) * tw.codes[wAt(o, ci, ky, kx)]!,
          (_o, a) => a,
        ),
        'ternary integer accumulators',
      );
      const qx = (v: number) => Math.round(Math.min(Math.max(v, 0), 1) * 3) / 3;
      assertClose(
        await g.read(yD),
        convReference(
          geo,
          (n, o, ci, iy, ix, ky, kx) => qx(xAt(n, ci, iy, ix)) * dw[wAt(o, ci, ky, kx)]!,
          (_o, a) => a,
        ),
        1e-5,
        1e-5,
        'DoReFa bit-serial conv',
      );
    },
  },
]);

export const bitwiseCases: ConformanceCase[] = [
  ...packCases,
  ...convCases,
  {
    group: 'bitwise conv',
    name: 'grouped bitwise convolutions and off-grid DoReFa weights are refused',
    run: async (g: Gpu) => {
      const geo = convGeometry([1, 4, 4, 4], [4, 2, 3, 3], { groups: 2 });
      const t = () => g.empty([1]);
      await assertThrows(
        () =>
          g.submit((r) =>
            encodeBitwiseConv(
              r,
              { x: t(), w: t(), scale: t(), bias: t(), y: t() },
              geo,
              { kind: 'xnor' },
              'none',
            ),
          ),
        GpuError,
      );
      await assertThrows(() => dorefaWeightPlanes([0.1], [1, 1, 1, 1], 2), GpuError, /grid/);
    },
  },
];
