import { binarizeXnorWeights, dorefaWeights, packBitplanes, packSigns, packTernary, ternarize, xnorInputScale } from '@zeroskip/quant';
import { describe, expect, it } from 'vitest';
import { binaryWeightPlanes, dorefaWeightPlanes, ternaryWeightPlanes } from '../bit-weights.js';
import { GpuError } from '../errors.js';
import { type ConvParams, convGeometry } from '../geometry.js';
import { applyActivation, convReference } from '../reference.js';
import { expectClose, randomArray, useGpu } from '../test-support.js';
import { type BitEncoding, encodeBitwiseConv, encodeBitwiseConvSign, encodePackBits, planeCount, signThresholds } from './bitwise.js';

const gpu = useGpu();
const sgn = (v: number) => (v < 0 ? -1 : 1);

describe('bit packing on the GPU equals @zeroskip/quant', () => {
  const shapes: [number, number, number, number][] = [
    [1, 5, 3, 4],
    [3, 70, 5, 3],
    [2, 33, 1, 1],
  ];
  for (const shape of shapes) {
    it(`shape [${shape}]: signs, ternary planes and 3 bitplanes bit-exact`, async () => {
      const g = gpu();
      const x = randomArray(shape.reduce((a, b) => a * b), 1);
      const xt = g.tensor(shape, x);
      const encodings: BitEncoding[] = [{ kind: 'binary' }, { kind: 'ternary', delta: 0.3 }, { kind: 'bitplanes', bits: 3 }];
      const words = shape[0] * shape[2] * shape[3] * Math.ceil(shape[1] / 32);
      const outs = encodings.map((e) => g.empty([planeCount(e) * words], 'u32'));
      await g.submit((r) => encodings.forEach((e, i) => encodePackBits(r, xt, outs[i]!, shape, e)));
      const [b, t, k] = await Promise.all(outs.map((o) => g.readU32(o)));
      expect(b).toEqual(packSigns(x, shape).data);
      const codes = Array.from(x, (v) => (Math.abs(v) > 0.3 ? sgn(v) : 0));
      const pt = packTernary(codes, shape);
      expect(t).toEqual(Uint32Array.from([...pt.nonzero.data, ...pt.negative.data]));
      const q = Array.from(x, (v) => Math.round(Math.min(Math.max(v, 0), 1) * 7));
      expect(k).toEqual(Uint32Array.from(packBitplanes(q, shape, 3).planes.flatMap((p) => [...p.data])));
    });
  }
});

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

async function setup(c: Case, encoding: BitEncoding) {
  const g = gpu();
  const wShape = [c.o, c.x[1], ...c.k] as const;
  const geo = convGeometry(c.x, wShape, c.p);
  const x = randomArray(c.x.reduce((a, b) => a * b), 21);
  const w = randomArray(wShape.reduce((a, b) => a * b), 22);
  const xt = g.tensor(c.x, x);
  const words = c.x[0] * c.x[2] * c.x[3] * Math.ceil(c.x[1] / 32);
  const xb = g.empty([planeCount(encoding) * words], 'u32');
  return { g, geo, x, w, wShape, xt, xb, encoding };
}

describe('bitwise convolution against the CPU reference', () => {
  CASES.forEach((c, i) => {
    it(`XNOR: x [${c.x}] → ${c.o}, ${c.k.join('×')}, ${JSON.stringify(c.p)}: integers exact, α·K scaling, BN + sign`, async () => {
      const s = await setup(c, { kind: 'binary' });
      const { g, geo } = s;
      const ones = g.tensor([c.o], new Float32Array(c.o).fill(1));
      const zeros = g.tensor([c.o], new Float32Array(c.o));
      const wb = g.tensor([binaryWeightPlanes(s.w, s.wShape).length], binaryWeightPlanes(s.w, s.wShape));
      const xnor = binarizeXnorWeights(s.w, s.wShape);
      const bias = randomArray(c.o, 23 + i);
      const kmap = xnorInputScale(s.x, c.x, c.k[0], c.k[1], { stride: geo.sh, padding: geo.pt });
      const useK = geo.pt === geo.pb && geo.pl === geo.pr && geo.pt === geo.pl && geo.sh === geo.sw && geo.dh === 1;
      const yInt = g.empty([geo.n, c.o, geo.ho, geo.wo]);
      const yScaled = g.empty([geo.n, c.o, geo.ho, geo.wo]);
      const bnScale = randomArray(c.o, 24).map((v, o) => (o === 0 ? 0 : v));
      const bnShift = randomArray(c.o, 25);
      const { threshold, mode } = signThresholds(bnScale, bnShift);
      const ySign = g.empty([geo.n * geo.ho * geo.wo * Math.ceil(c.o / 32)], 'u32');
      await g.submit((r) => {
        encodePackBits(r, s.xt, s.xb, c.x, s.encoding);
        encodeBitwiseConv(r, { x: s.xb, w: wb, scale: ones, bias: zeros, y: yInt }, geo, { kind: 'xnor' }, 'none');
        encodeBitwiseConv(
          r,
          { x: s.xb, w: wb, scale: g.tensor([c.o], xnor.alpha), bias: g.tensor([c.o], bias), y: yScaled, ...(useK ? { k: g.tensor(kmap.shape, kmap.scale) } : {}) },
          geo,
          { kind: 'xnor' },
          'htanh',
        );
        encodeBitwiseConvSign(r, { x: s.xb, w: wb, threshold: g.tensor([c.o], threshold), mode: g.tensor([c.o], mode), y: ySign }, geo, { kind: 'xnor' });
      });
      const acc = convReference(geo, (n, o, ci, iy, ix, ky, kx) => sgn(s.x[((n * geo.c + ci) * geo.h + iy) * geo.w + ix]!) * sgn(s.w[((o * geo.c + ci) * geo.kh + ky) * geo.kw + kx]!), (_o, a) => a);
      expect(await g.read(yInt)).toEqual(acc);
      const hwo = geo.ho * geo.wo;
      const scaled = acc.map((a, e) => {
        const o = Math.floor(e / hwo) % c.o;
        const kv = useK ? kmap.scale[Math.floor(e / (hwo * c.o)) * hwo + (e % hwo)]! : 1;
        return applyActivation(xnor.alpha[o]! * a * kv + bias[o]!, 'htanh');
      });
      expectClose(await g.read(yScaled), scaled, 1e-5, 1e-5);
      const pre = acc.map((a, e) => bnScale[Math.floor(e / hwo) % c.o]! * a + bnShift[Math.floor(e / hwo) % c.o]!);
      expect(await g.readU32(ySign)).toEqual(packSigns(pre, [geo.n, c.o, geo.ho, geo.wo]).data);
    });

    it(`ternary and DoReFa 2×3-bit: x [${c.x}] → ${c.o}`, async () => {
      const tern = await setup(c, { kind: 'ternary', delta: 0.25 });
      const { g, geo } = tern;
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
        encodeBitwiseConv(r, { x: tern.xb, w: g.tensor([twb.length], twb), scale: ones, bias: zeros, y: yT }, geo, { kind: 'ternary' }, 'none');
        encodePackBits(r, tern.xt, xd, c.x, { kind: 'bitplanes', bits: 2 });
        encodeBitwiseConv(r, { x: xd, w: g.tensor([dwb.length], dwb), scale: ones, bias: zeros, y: yD }, geo, { kind: 'dorefa', activationBits: 2, weightBits: 3 }, 'none');
      });
      const xAt = (n: number, ci: number, iy: number, ix: number) => tern.x[((n * geo.c + ci) * geo.h + iy) * geo.w + ix]!;
      const wAt = (o: number, ci: number, ky: number, kx: number) => ((o * geo.c + ci) * geo.kh + ky) * geo.kw + kx;
      const tx = (v: number) => (Math.abs(v) > 0.25 ? sgn(v) : 0);
      expect(await g.read(yT)).toEqual(convReference(geo, (n, o, ci, iy, ix, ky, kx) => tx(xAt(n, ci, iy, ix)) * tw.codes[wAt(o, ci, ky, kx)]!, (_o, a) => a));
      const qx = (v: number) => Math.round(Math.min(Math.max(v, 0), 1) * 3) / 3;
      expectClose(await g.read(yD), convReference(geo, (n, o, ci, iy, ix, ky, kx) => qx(xAt(n, ci, iy, ix)) * dw[wAt(o, ci, ky, kx)]!, (_o, a) => a), 1e-5, 1e-5);
    });
  });

  it('refuses grouped bitwise convolutions and off-grid DoReFa weights', async () => {
    const geo = convGeometry([1, 4, 4, 4], [4, 2, 3, 3], { groups: 2 });
    const g = gpu();
    await expect(g.submit((r) => encodeBitwiseConv(r, { x: g.empty([1]), w: g.empty([1]), scale: g.empty([1]), bias: g.empty([1]), y: g.empty([1]) }, geo, { kind: 'xnor' }, 'none'))).rejects.toThrow(GpuError);
    expect(() => dorefaWeightPlanes([0.1], [1, 1, 1, 1], 2)).toThrow(/grid/);
  });
});
