import { seededRandom } from '@zeroskip/quant';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { int, packedCodes, type Shape4 } from './conformance/quant-conv.js';
import { type Gpu, requestDevice } from './device.js';
import { GpuError } from './errors.js';
import { type ConvGeometry, convGeometry } from './geometry.js';
import { type BitPoolGeometry, bitPoolGeometry } from './kernels/bit-pool.js';
import { ConvPoolSignLayer } from './kernels/conv-pool-sign.js';
import { conv2dReference, poolReference } from './reference.js';
import type { Activation } from './wgsl.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

const TIMEOUT = 120_000;

/** Small integers: every sum is exact in f32 in any order, so the kernel must match bit for bit. */
const ints = (rand: () => number, size: number, lo: number, hi: number) =>
  Float32Array.from({ length: size }, () => int(rand, lo, hi));

/** The layer on a seeded input, weights and sign map of `conv` and `pool` against the references done apart. */
async function expectMatches(rand: () => number, conv: ConvGeometry, pool: BitPoolGeometry) {
  const { o, c, kh, kw } = conv;
  const x4: Shape4 = [conv.n, c, conv.h, conv.w];
  const x = ints(
    rand,
    x4.reduce((a, b) => a * b),
    -3,
    3,
  );
  const w = ints(rand, o * c * kh * kw, -2, 2);
  const bias = rand() < 0.7 ? ints(rand, o, -4, 4) : undefined;
  // half-integer shifts: d·y + e is never 0, so no sum lands on the sign's step
  const sign =
    rand() < 0.8
      ? {
          scale: ints(rand, o, -1, 1),
          shift: Float32Array.from({ length: o }, () => int(rand, -6, 5) + 0.5),
        }
      : undefined;
  const activation: Activation = rand() < 0.3 ? 'relu' : 'none';
  const y = conv2dReference(conv, x, w, bias, activation);
  const pooled = poolReference(
    y,
    [conv.n, o, conv.ho, conv.wo],
    'max',
    [pool.kh, pool.kw],
    [pool.sh, pool.sw],
    [pool.pt, pool.pl, 0, 0],
    [pool.dh, pool.dw],
    pool.ho,
    pool.wo,
  );
  const plane = pool.ho * pool.wo;
  const signed = pooled.map((v, i) => {
    const ch = Math.floor(i / plane) % o;
    return sign ? sign.scale[ch]! * v + sign.shift[ch]! : v;
  });
  const layer = new ConvPoolSignLayer(gpu, w, [o, c, kh, kw], bias, sign, activation);
  const xt = gpu.tensor(x4, x);
  let out: ReturnType<ConvPoolSignLayer['encode']> | undefined;
  await gpu.submit((r) => {
    out = layer.encode(r, xt, conv, pool);
  });
  const want = packedCodes(signed, [conv.n, o, pool.ho, pool.wo], { mode: 'sign' });
  expect(await gpu.readU32(out!), JSON.stringify({ conv, pool, activation })).toEqual(want);
  for (const t of [xt, out!]) gpu.release(t);
  layer.destroy();
}

describe('ConvPoolSignLayer', () => {
  it(
    'equals conv, max pool and the sign of d·y + e done apart, on randomized geometries',
    async () => {
      const rand = seededRandom(23);
      let cases = 0;
      while (cases < 16) {
        const c = int(rand, 1, 5);
        const o = rand() < 0.3 ? int(rand, 33, 70) : int(rand, 1, 32);
        const x4: Shape4 = [int(rand, 1, 3), c, int(rand, 3, 12), int(rand, 3, 12)];
        const [kh, kw] = [int(rand, 1, 5), int(rand, 1, 5)];
        const params = {
          stride: [int(rand, 1, 2), int(rand, 1, 2)] as const,
          pads: [int(rand, 0, 2), int(rand, 0, 2), int(rand, 0, 2), int(rand, 0, 2)] as const,
          dilation: [int(rand, 1, 2), 1] as const,
        };
        // a window larger than the padded input has no output: draw again
        const fits = [0, 1].every(
          (d) =>
            x4[2 + d]! + params.pads[d]! + params.pads[d + 2]! >=
            params.dilation[d]! * ([kh, kw][d]! - 1) + 1,
        );
        if (!fits) continue;
        const conv = convGeometry(x4, [o, c, kh, kw], params);
        const pk = [int(rand, 1, 3), int(rand, 1, 3)] as const;
        const pads = [0, 1].map((d) => (pk[d]! > 1 && rand() < 0.4 ? 1 : 0));
        const pool = bitPoolGeometry([conv.n, o, conv.ho, conv.wo], {
          kernel: pk,
          stride: [int(rand, 1, 2), int(rand, 1, 3)],
          pads: [pads[0]!, pads[1]!, pads[0]!, pads[1]!],
          ceilMode: rand() < 0.3,
        });
        if (pool.ho < 1 || pool.wo < 1) continue;
        cases++;
        await expectMatches(rand, conv, pool);
      }
    },
    TIMEOUT,
  );

  it('splits a pool window of more taps than a workgroup has threads for among its threads', async () => {
    const rand = seededRandom(5);
    const conv = convGeometry([2, 2, 14, 13], [40, 2, 3, 3], { pads: [1, 1, 1, 1] });
    const pool = bitPoolGeometry([2, 40, conv.ho, conv.wo], {
      kernel: [9, 8],
      stride: [3, 2],
      pads: [1, 0, 1, 0],
    });
    await expectMatches(rand, conv, pool);
  });

  it('refuses parameters and inputs that do not fit, naming them', async () => {
    expect(
      () => new ConvPoolSignLayer(gpu, new Float32Array(8), [2, 1, 2, 2], new Float32Array(3), undefined),
    ).toThrow(/takes 8 weights and 2 biases, scales and shifts, got 8 and 3, 2, 2/);
    expect(
      () =>
        new ConvPoolSignLayer(gpu, new Float32Array(8), [2, 1, 2, 2], undefined, {
          scale: [2, 1],
          shift: [0, 0],
        }),
    ).toThrow(GpuError);
    const layer = new ConvPoolSignLayer(gpu, new Float32Array(8), [2, 1, 2, 2], undefined, undefined);
    const conv = convGeometry([1, 1, 4, 4], [2, 1, 2, 2], { groups: 1 });
    const pool = bitPoolGeometry([1, 2, 3, 3], { kernel: [2, 2] });
    const x = gpu.tensor([1, 1, 5, 4], new Float32Array(20));
    await expect(gpu.submit((r) => layer.encode(r, x, conv, pool))).rejects.toThrow(
      /does not fit input \[1, 1, 5, 4\]/,
    );
    gpu.release(x);
    layer.destroy();
  });
});
