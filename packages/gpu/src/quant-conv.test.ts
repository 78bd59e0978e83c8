import { seededRandom } from '@zeroskip/quant';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACTIVATIONS,
  checkFloatOutput,
  checkFusedOutput,
  decodedValues,
  int,
  OUTPUTS,
  packedCodes,
  quantData,
  quantInputs,
  quantParams,
  quantResidual,
  quantWeights,
  runQuantLayer,
  type Shape4,
  WEIGHTS,
} from './conformance/quant-conv.js';
import { type Gpu, requestDevice } from './device.js';
import { GpuError } from './errors.js';
import { type BitPoolGeometry, bitPoolGeometry, encodeMaxPoolBits, pooledShape } from './kernels/bit-pool.js';
import type { PoolParams } from './kernels/ops.js';
import { encodePack, encodeUnpackBits, type PackedEncoding, packedShape } from './kernels/pack-bits.js';
import { QuantConvLayer } from './quant-conv-layer.js';
import { type QuantConvSpec, quantConvGeometry, quantConvReference } from './quant-conv-reference.js';
import { poolReference } from './reference.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

const TIMEOUT = 120_000;

interface Geometry {
  x: Shape4;
  w: Shape4;
  conv: { stride: [number, number]; pads: [number, number, number, number]; dilation: [number, number] };
}

function randomGeometry(rand: () => number): Geometry {
  for (;;) {
    // up to 2 words per position, sometimes 4 or 5 (the kernel loads 4-, 2- and 1-word vectors)
    const c = rand() < 0.25 ? int(rand, 97, 150) : int(rand, 1, 70);
    const [n, h, w] = [int(rand, 1, 2), int(rand, 1, 6), int(rand, 1, 6)];
    const [kh, kw] = [int(rand, 1, 3), int(rand, 1, 3)];
    const conv = {
      stride: [int(rand, 1, 2), int(rand, 1, 2)] as [number, number],
      pads: [int(rand, 0, 2), int(rand, 0, 2), int(rand, 0, 2), int(rand, 0, 2)] as [
        number,
        number,
        number,
        number,
      ],
      dilation: [int(rand, 1, 2), int(rand, 1, 2)] as [number, number],
    };
    const ho =
      Math.floor((h + conv.pads[0] + conv.pads[2] - conv.dilation[0] * (kh - 1) - 1) / conv.stride[0]) + 1;
    const wo =
      Math.floor((w + conv.pads[1] + conv.pads[3] - conv.dilation[1] * (kw - 1) - 1) / conv.stride[1]) + 1;
    if (ho >= 1 && wo >= 1) return { x: [n, c, h, w], w: [int(rand, 1, 70), c, kh, kw], conv };
  }
}

describe('packing', () => {
  it(
    'sign, sign0 and k-bit packing equal @zeroskip/quant on the spec codes, rounding steps included; unpack gives the values',
    async () => {
      const rand = seededRandom(11);
      for (const [i, e] of [
        { mode: 'sign' },
        { mode: 'sign0' },
        { mode: 'bits', bits: 1 },
        { mode: 'bits', bits: 3 },
        { mode: 'bits', bits: 8 },
      ].entries() as IterableIterator<[number, PackedEncoding]>) {
        const shape: Shape4 = [int(rand, 1, 3), [5, 32, 33, 70, 64][i]!, int(rand, 1, 4), int(rand, 1, 4)];
        const x = quantInputs(
          rand,
          shape.reduce((a, b) => a * b),
          e.mode === 'bits' ? e.bits : 0,
        );
        const xt = gpu.tensor(shape, x);
        const xb = gpu.empty(packedShape(shape, e), 'u32');
        const y = gpu.empty(shape);
        await gpu.submit((r) => {
          encodePack(r, xt, xb, shape, e);
          encodeUnpackBits(r, xb, y, shape, e);
        });
        expect(await gpu.readU32(xb)).toEqual(packedCodes(x, shape, e));
        expect(await gpu.read(y)).toEqual(decodedValues(x, e));
        for (const t of [xt, xb, y]) gpu.release(t);
      }
    },
    TIMEOUT,
  );
});

describe('QuantConvLayer', () => {
  const combos = ACTIVATIONS.flatMap((a) => WEIGHTS.map((w) => ({ ...a, ...w })));
  it.each(
    combos.map(
      (c, i) =>
        [`${c.activations}${c.activationBits ?? ''} × ${c.weights}${c.weightBits ?? ''}`, c, i] as const,
    ),
  )(
    '%s equals quantConvReference on random geometry (output modes in turn)',
    async (_name, combo, i) => {
      const rand = seededRandom(100 + i);
      for (const out of [OUTPUTS[i % 3]!, OUTPUTS[(i + 1) % 3]!]) {
        const g = randomGeometry(rand);
        const spec: QuantConvSpec = { ...combo, ...out, conv: g.conv };
        const { x, w, geo } = quantData(rand, g.x, g.w, spec);
        const params = quantParams(rand, spec, geo.o, geo.k);
        const want = quantConvReference(x, g.x, w, g.w, spec, params);
        const got = await runQuantLayer(gpu, spec, x, g.x, w, g.w, params);
        if (spec.output === 'float') checkFloatOutput(got.values, want, params, geo.o, geo.ho * geo.wo);
        else {
          expect(got.values).toEqual(want);
          const e: PackedEncoding = spec.output === 'sign' ? { mode: 'sign' } : { mode: 'bits', bits: 2 };
          expect(got.packed).toEqual(packedCodes(want, got.shape, e));
        }
      }
    },
    TIMEOUT,
  );

  it(
    'every count of lanes per pixel, weights staged or not, equals the reference, on random geometry, modes and fused epilogues',
    async () => {
      const rand = seededRandom(41);
      const ran = new Set<number>();
      for (let i = 0; i < 6; i++) {
        const g = randomGeometry(rand);
        const out = OUTPUTS[i % OUTPUTS.length]!;
        const spec: QuantConvSpec = {
          ...ACTIVATIONS[i % ACTIVATIONS.length]!,
          ...WEIGHTS[(i + 2) % WEIGHTS.length]!,
          ...out,
          conv: g.conv,
        };
        const { x, w, geo } = quantData(rand, g.x, g.w, spec);
        const size = geo.n * geo.o * geo.ho * geo.wo;
        const params = {
          ...quantParams(rand, spec, geo.o, geo.k),
          ...(spec.output === 'float' ? { residual: quantResidual(rand, size) } : {}),
        };
        const want = quantConvReference(x, g.x, w, g.w, spec, params);
        for (const lanes of [1, 2, 4, 8]) {
          let got: Awaited<ReturnType<typeof runQuantLayer>>;
          try {
            got = await runQuantLayer(gpu, spec, x, g.x, w, g.w, params, {
              lanes,
              // staged and unstaged weights in turn, on every geometry
              stageWeights: (lanes + i) % 2 === 0,
              ...(spec.output === 'float' ? { sign: true } : {}),
            });
          } catch (e) {
            // a count the layer cannot take (over the workgroup or the vector width) is refused by name
            expect(e).toBeInstanceOf(GpuError);
            expect(String(e)).toMatch(/lanes/);
            continue;
          }
          ran.add(lanes);
          if (spec.output === 'float') checkFusedOutput(got, want, params);
          else expect(got.values).toEqual(want);
        }
      }
      expect([...ran].sort()).toEqual([1, 2, 4, 8]);
      // not a power of 2, a fraction, none, or more than a thread's 4 channels allow
      for (const lanes of [3, 0.5, 0, 16])
        await expect(
          runQuantLayer(
            gpu,
            { ...ACTIVATIONS[0]!, ...WEIGHTS[0]!, output: 'sign' },
            new Float32Array(4),
            [1, 1, 2, 2],
            Float32Array.of(1),
            [1, 1, 1, 1],
            { thresholds: [0] },
            { lanes },
          ),
        ).rejects.toThrow(/lanes/);
    },
    TIMEOUT,
  );

  it(
    'a large map (64-pixel tiles, no K split, one lane) with 2 weight planes and 2-bit output',
    async () => {
      const rand = seededRandom(9);
      const xShape: Shape4 = [1, 3, 130, 128];
      const wShape: Shape4 = [40, 3, 3, 3];
      const spec: QuantConvSpec = {
        activations: 'sign0',
        weights: 'ternary',
        output: 'bits',
        outputBits: 2,
        conv: { pads: [1, 1, 1, 1] },
      };
      const { x, w } = quantData(rand, xShape, wShape, spec);
      const params = quantParams(rand, spec, 40, 27);
      // one lane: each thread sums all 32 channels and writes them itself, without the reduction
      const got = await runQuantLayer(gpu, spec, x, xShape, w, wShape, params, { lanes: 1 });
      expect(got.values).toEqual(quantConvReference(x, xShape, w, wShape, spec, params));
    },
    TIMEOUT,
  );

  it(
    'a kernel covering the whole input (an FC layer) and channel counts around word edges',
    async () => {
      const rand = seededRandom(7);
      for (const [c, o, hw] of [
        [32, 32, 3],
        [64, 33, 1],
        [96, 65, 2],
        [31, 1, 4],
        [128, 40, 2],
        [250, 17, 1],
      ] as const) {
        const xShape: Shape4 = [3, c, hw, hw];
        const wShape: Shape4 = [o, c, hw, hw];
        const spec: QuantConvSpec = { activations: 'sign', weights: 'binary', output: 'sign' };
        const { x, w } = quantData(rand, xShape, wShape, spec);
        const params = quantParams(rand, spec, o, c * hw * hw);
        const got = await runQuantLayer(gpu, spec, x, xShape, w, wShape, params);
        expect(got.values).toEqual(quantConvReference(x, xShape, w, wShape, spec, params));
      }
    },
    TIMEOUT,
  );
});

describe('fused float epilogue (a Bi-Real block in one dispatch)', () => {
  // each case compiles its own kernel, slow on a software adapter
  const FUSED_TIMEOUT = 300_000;
  it(
    'S·acc + B + R and the packed sign of the sum equal the reference on random geometry and modes',
    async () => {
      const rand = seededRandom(31);
      for (let i = 0; i < 6; i++) {
        const g = randomGeometry(rand);
        const spec: QuantConvSpec = {
          ...ACTIVATIONS[i % ACTIVATIONS.length]!,
          ...WEIGHTS[(i + 1) % WEIGHTS.length]!,
          output: 'float',
          conv: g.conv,
        };
        const { x, w, geo } = quantData(rand, g.x, g.w, spec);
        const size = geo.n * geo.o * geo.ho * geo.wo;
        const params = { ...quantParams(rand, spec, geo.o, geo.k), residual: quantResidual(rand, size) };
        const want = quantConvReference(x, g.x, w, g.w, spec, params);
        // residual and sign plane, residual alone, sign plane alone in turn
        const { residual: _, ...plain } = params;
        if (i % 3 === 0) {
          const got = await runQuantLayer(gpu, spec, x, g.x, w, g.w, params, { sign: true });
          checkFusedOutput(got, want, params);
          // the residual moves the outputs: a kernel that dropped it would fail the check
          expect(() =>
            checkFusedOutput(got, quantConvReference(x, g.x, w, g.w, spec, plain), plain),
          ).toThrow();
        } else if (i % 3 === 1) {
          const got = await runQuantLayer(gpu, spec, x, g.x, w, g.w, params);
          expect(got.sign).toBeUndefined();
          checkFloatOutput(got.values, want, params, geo.o, geo.ho * geo.wo);
        } else {
          const got = await runQuantLayer(gpu, spec, x, g.x, w, g.w, plain, { sign: true });
          checkFusedOutput(got, quantConvReference(x, g.x, w, g.w, spec, plain), plain);
        }
      }
    },
    FUSED_TIMEOUT,
  );

  it(
    'Bi-Real stage shapes at batch 1 (K split and 64-pixel tiles) keep the residual and the sign plane',
    async () => {
      const rand = seededRandom(32);
      for (const [c, o, hw, stride] of [
        [64, 128, 8, 2],
        [512, 512, 3, 1],
      ] as const) {
        const xShape: Shape4 = [1, c, hw, hw];
        const wShape: Shape4 = [o, c, 3, 3];
        const spec: QuantConvSpec = {
          activations: 'sign',
          weights: 'binary',
          output: 'float',
          conv: { stride: [stride, stride], pads: [1, 1, 1, 1] },
        };
        const { x, w, geo } = quantData(rand, xShape, wShape, spec);
        const params = {
          ...quantParams(rand, spec, geo.o, geo.k),
          residual: quantResidual(rand, geo.o * geo.ho * geo.wo),
        };
        const got = await runQuantLayer(gpu, spec, x, xShape, w, wShape, params, { sign: true });
        checkFusedOutput(got, quantConvReference(x, xShape, w, wShape, spec, params), params);
      }
    },
    FUSED_TIMEOUT,
  );
});

describe('fused max pool (a packed output pooled in the same dispatch)', () => {
  const POOL_TIMEOUT = 300_000;
  /** The reference: the layer's codes as f32 values, max pooled on the CPU, and their packing. */
  function pooledReference(
    x: Float32Array,
    xShape: Shape4,
    w: Float32Array,
    wShape: Shape4,
    spec: QuantConvSpec,
    params: ReturnType<typeof quantParams>,
    pool: PoolParams,
  ) {
    const geo = quantConvGeometry(xShape, wShape, spec);
    const shape: Shape4 = [geo.n, geo.o, geo.ho, geo.wo];
    const g = bitPoolGeometry(shape, pool);
    const values = poolReference(
      quantConvReference(x, xShape, w, wShape, spec, params),
      shape,
      'max',
      pool.kernel,
      pool.stride ?? [1, 1],
      pool.pads ?? [0, 0, 0, 0],
      pool.dilation ?? [1, 1],
      g.ho,
      g.wo,
    );
    return { values, shape: pooledShape(g) };
  }

  async function expectPooled(
    rand: () => number,
    xShape: Shape4,
    wShape: Shape4,
    spec: QuantConvSpec,
    pool: PoolParams,
  ) {
    const { x, w, geo } = quantData(rand, xShape, wShape, spec);
    const params = quantParams(rand, spec, geo.o, geo.k);
    const want = pooledReference(x, xShape, w, wShape, spec, params, pool);
    const got = await runQuantLayer(gpu, spec, x, xShape, w, wShape, params, { pool });
    expect(got.shape).toEqual(want.shape);
    expect(got.values).toEqual(want.values);
    const e: PackedEncoding =
      spec.output === 'sign' ? { mode: 'sign' } : { mode: 'bits', bits: spec.outputBits! };
    expect(got.packed).toEqual(packedCodes(want.values, want.shape, e));
  }

  /** A pool window on an h×w map: 1–3 taps a side, PyTorch's padding (at most half the window), sometimes ceil mode. */
  function randomPool(rand: () => number, h: number, w: number): PoolParams | undefined {
    const kernel: [number, number] = [int(rand, 1, Math.min(3, h)), int(rand, 1, Math.min(3, w))];
    const pool: PoolParams = {
      kernel,
      stride: [int(rand, 1, 3), int(rand, 1, 3)],
      pads: [0, 1, 0, 1].map((i) => int(rand, 0, Math.floor(kernel[i]! / 2))) as [
        number,
        number,
        number,
        number,
      ],
      dilation: [int(rand, 1, 2), int(rand, 1, 2)],
      ceilMode: rand() < 0.4,
    };
    const g = bitPoolGeometry([1, 1, h, w], pool);
    return g.ho >= 1 && g.wo >= 1 ? pool : undefined;
  }

  it(
    'sign and 2-bit outputs pooled equal the reference pooled on random geometry, windows, strides, padding and ceil mode',
    async () => {
      const rand = seededRandom(61);
      for (let i = 0; i < 6; ) {
        const g = randomGeometry(rand);
        const spec: QuantConvSpec = {
          ...ACTIVATIONS[i % ACTIVATIONS.length]!,
          ...WEIGHTS[(i + 1) % WEIGHTS.length]!,
          ...OUTPUTS[1 + (i % 2)]!,
          conv: g.conv,
        };
        const geo = quantConvGeometry(g.x, g.w, spec);
        const pool = randomPool(rand, geo.ho, geo.wo);
        if (!pool) continue;
        await expectPooled(rand, g.x, g.w, spec, pool);
        i++;
      }
    },
    POOL_TIMEOUT,
  );

  it(
    "BinaryNet's second layer at batch 1 and 3, a large map whose tiles take whole overlapping 3×3 windows, and a 9×8 window that runs as a pool dispatch of its own",
    async () => {
      const rand = seededRandom(62);
      const binary: QuantConvSpec = {
        activations: 'sign',
        weights: 'binary',
        output: 'sign',
        conv: { pads: [2, 2, 2, 2] },
      };
      const pool2: PoolParams = { kernel: [2, 2], stride: [2, 2] };
      for (const n of [1, 3]) await expectPooled(rand, [n, 32, 14, 14], [64, 32, 5, 5], binary, pool2);
      // 64-pixel tiles without a K split: the direct epilogue, 7 windows of 9 taps to a workgroup
      await expectPooled(
        rand,
        [2, 3, 66, 64],
        [40, 3, 3, 3],
        {
          activations: 'sign0',
          weights: 'ternary',
          output: 'bits',
          outputBits: 2,
          conv: { pads: [1, 1, 1, 1] },
        },
        { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1] },
      );
      await expectPooled(
        rand,
        [1, 40, 12, 11],
        [33, 40, 3, 3],
        { ...binary, conv: { pads: [1, 1, 1, 1] } },
        {
          kernel: [9, 8],
          stride: [3, 3],
        },
      );
    },
    POOL_TIMEOUT,
  );
});

describe('packed chains', () => {
  it(
    'pack → sign layer → max pool → 2-bit layer → max pool → float layer equals the reference chain',
    async () => {
      const rand = seededRandom(5);
      const xShape: Shape4 = [2, 37, 8, 7];
      const l1: QuantConvSpec = {
        activations: 'sign',
        weights: 'binary',
        output: 'sign',
        conv: { pads: [1, 1, 1, 1] },
      };
      const w1Shape: Shape4 = [40, 37, 3, 3];
      const l2: QuantConvSpec = {
        activations: 'sign',
        weights: 'ternary',
        output: 'bits',
        outputBits: 2,
        conv: { stride: [2, 1], pads: [0, 1, 1, 0] },
      };
      const w2Shape: Shape4 = [33, 40, 2, 3];
      const l3: QuantConvSpec = {
        activations: 'bits',
        activationBits: 2,
        weights: 'bits',
        weightBits: 2,
        output: 'float',
        conv: { dilation: [1, 2] },
      };
      const pool1 = {
        kernel: [2, 2] as [number, number],
        stride: [2, 2] as [number, number],
        ceilMode: true,
      };
      const pool2 = {
        kernel: [3, 2] as [number, number],
        pads: [1, 0, 1, 1] as [number, number, number, number],
      };
      const x = quantInputs(
        rand,
        xShape.reduce((a, b) => a * b),
      );
      const w1 = quantWeights(
        rand,
        l1,
        w1Shape.reduce((a, b) => a * b),
      );
      const w2 = quantWeights(
        rand,
        l2,
        w2Shape.reduce((a, b) => a * b),
      );
      const p1 = quantParams(rand, l1, 40, 37 * 9);
      const p2 = quantParams(rand, l2, 33, 40 * 6);

      // the CPU chain on f32 values
      const cpuPool = (v: Float32Array, s: Shape4, g: BitPoolGeometry, p: typeof pool2 | typeof pool1) =>
        poolReference(
          v,
          s,
          'max',
          p.kernel,
          'stride' in p ? p.stride : [1, 1],
          'pads' in p ? p.pads : [0, 0, 0, 0],
          [1, 1],
          g.ho,
          g.wo,
        );
      const y1 = quantConvReference(x, xShape, w1, w1Shape, l1, p1);
      const g1 = quantConvGeometry(xShape, w1Shape, l1);
      const s1: Shape4 = [g1.n, g1.o, g1.ho, g1.wo];
      const pg1 = bitPoolGeometry(s1, pool1);
      const m1 = cpuPool(y1, s1, pg1, pool1);
      const s1p: Shape4 = [g1.n, g1.o, pg1.ho, pg1.wo];
      const y2 = quantConvReference(m1, s1p, w2, w2Shape, l2, p2);
      const g2 = quantConvGeometry(s1p, w2Shape, l2);
      const s2: Shape4 = [g2.n, g2.o, g2.ho, g2.wo];
      const pg2 = bitPoolGeometry(s2, pool2);
      const m2 = cpuPool(y2, s2, pg2, pool2);
      const s2p: Shape4 = [g2.n, g2.o, pg2.ho, pg2.wo];
      const w3Shape: Shape4 = [11, 33, 2, 2];
      const w3 = quantWeights(
        rand,
        l3,
        w3Shape.reduce((a, b) => a * b),
      );
      const g3 = quantConvGeometry(s2p, w3Shape, l3);
      const p3 = quantParams(rand, l3, 11, g3.k);
      const want = quantConvReference(m2, s2p, w3, w3Shape, l3, p3);

      const layers = [
        new QuantConvLayer(gpu, l1, w1, w1Shape, p1),
        new QuantConvLayer(gpu, l2, w2, w2Shape, p2),
        new QuantConvLayer(gpu, l3, w3, w3Shape, p3),
      ] as const;
      const xt = gpu.tensor(xShape, x);
      const xb = gpu.empty(packedShape(xShape, layers[0].inputEncoding), 'u32');
      const e1: PackedEncoding = { mode: 'sign' };
      const e2: PackedEncoding = { mode: 'bits', bits: 2 };
      const q1 = gpu.empty(packedShape(s1p, e1), 'u32');
      const q2 = gpu.empty(packedShape(s2p, e2), 'u32');
      let y: ReturnType<QuantConvLayer['encode']> | undefined;
      await gpu.submit((r) => {
        encodePack(r, xt, xb, xShape, layers[0].inputEncoding);
        encodeMaxPoolBits(r, layers[0].encode(r, xb), q1, pg1, e1);
        encodeMaxPoolBits(r, layers[1].encode(r, q1), q2, pg2, e2);
        y = layers[2].encode(r, q2);
      });
      checkFloatOutput(await gpu.read(y!), want, p3, 11, g3.ho * g3.wo);
      // the pooled planes themselves are the packed pooled values
      expect(await gpu.readU32(q1)).toEqual(packedCodes(m1, s1p, e1));
      expect(await gpu.readU32(q2)).toEqual(packedCodes(m2, s2p, e2));
      for (const l of layers) l.destroy();
    },
    TIMEOUT,
  );
});

describe('typed errors', () => {
  it(
    'off-grid weights, unordered thresholds, wrong packed inputs and sign0 pooling are GpuErrors',
    async () => {
      const spec: QuantConvSpec = { activations: 'sign', weights: 'bits', weightBits: 2, output: 'sign' };
      const shape: Shape4 = [2, 3, 1, 1];
      const ok = { thresholds: [0, 1] };
      expect(() => new QuantConvLayer(gpu, spec, [1, 0.5, -1, 1, 1, 1], shape, ok)).toThrow(GpuError);
      expect(
        () =>
          new QuantConvLayer(gpu, { ...spec, output: 'bits', outputBits: 1 }, [1, 1, 1, 1, 1, 1], shape, {
            thresholds: [0, Number.NaN],
          }),
      ).toThrow(GpuError);
      const layer = new QuantConvLayer(
        gpu,
        { ...spec, activations: 'sign0' },
        [1, 1 / 3, -1, 1, 1, 1],
        shape,
        ok,
      );
      const wrong = gpu.empty(packedShape([1, 3, 1, 1], { mode: 'sign' }), 'u32');
      await expect(gpu.submit((r) => layer.encode(r, wrong))).rejects.toThrow(GpuError);
      const g = bitPoolGeometry([1, 3, 2, 2], { kernel: [2, 2] });
      await expect(
        gpu.submit((r) => encodeMaxPoolBits(r, wrong, wrong, g, { mode: 'sign0' })),
      ).rejects.toThrow(GpuError);
      layer.destroy();
      gpu.release(wrong);
      // a residual or a sign plane needs a float output, and a residual of the output's shape
      const float = new QuantConvLayer(
        gpu,
        { ...spec, weights: 'binary', output: 'float' },
        [1, 1, -1, 1, 1, 1],
        shape,
        {
          scale: [1, 1],
          bias: [0, 0],
        },
      );
      const packedX = gpu.empty(packedShape([1, 3, 1, 1], { mode: 'sign' }), 'u32');
      const badResidual = gpu.empty([1, 2, 2, 1]);
      await expect(
        gpu.submit((r) => float.encodeFused(r, packedX, { residual: badResidual })),
      ).rejects.toThrow(GpuError);
      const signOut = new QuantConvLayer(gpu, { ...spec, weights: 'binary' }, [1, 1, -1, 1, 1, 1], shape, ok);
      await expect(gpu.submit((r) => signOut.encodeFused(r, packedX, { sign: true }))).rejects.toThrow(
        GpuError,
      );
      for (const l of [float, signOut]) l.destroy();
      for (const t of [packedX, badResidual]) gpu.release(t);
    },
    TIMEOUT,
  );
});
