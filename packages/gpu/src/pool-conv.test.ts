import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomArray } from './conformance/data.js';
import { type Gpu, requestDevice } from './device.js';
import { GpuError } from './errors.js';
import { convGeometry } from './geometry.js';
import { relativeError, sparseWeights, sumTolerance } from './kernels/conv-check.js';
import {
  chooseDenseKernel,
  DENSE_KERNELS,
  type DenseKernel,
  denseKernelApplies,
  gemmTileOf,
} from './kernels/dense-kernel.js';
import { encodeImplicitGemmConv } from './kernels/gemm-conv.js';
import { type PoolParams, poolWindowOf } from './kernels/ops.js';
import {
  CONV_ALGORITHMS,
  Conv2dLayer,
  type ConvAlgorithm,
  chooseConvAlgorithm,
  poolsInLoader,
} from './layers.js';
import { conv2dReference, poolReference } from './reference.js';
import { ACTIVATIONS, type Activation } from './wgsl.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

type InputPool = { readonly kind: 'max' | 'avg' } & PoolParams;

interface Case {
  readonly x: readonly [number, number, number, number];
  readonly pool: InputPool;
  /** OIHW weights' shape; the conv's own window and padding. */
  readonly w: readonly [number, number, number, number];
  readonly stride: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
}

/** Any max or average pool (padding below its window, ceil mode, dilation), then any one-group conv on its map. */
const cases: fc.Arbitrary<Case> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 9 }),
    o: fc.integer({ min: 1, max: 12 }),
    kind: fc.constantFrom('max' as const, 'avg' as const),
    pk: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    ps: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    pd: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    pp: fc.tuple(...[0, 0, 0, 0].map(() => fc.integer({ min: 0, max: 2 }))),
    ceilMode: fc.boolean(),
    countIncludePad: fc.boolean(),
    extra: fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 })),
    k: fc.constantFrom(1, 1, 3),
    stride: fc.constantFrom(1, 1, 2),
  })
  .map((r) => {
    // ONNX pads stay below the window
    const pads = r.pp.map((p, i) => Math.min(p, r.pk[i % 2]! - 1)) as [number, number, number, number];
    const span = (a: number) => r.pd[a]! * (r.pk[a]! - 1) + 1;
    const x = [r.n, r.c, span(0) + r.k - 1 + r.extra[0], span(1) + r.k - 1 + r.extra[1]] as const;
    const pool: InputPool = {
      kind: r.kind,
      kernel: r.pk,
      stride: r.ps,
      dilation: r.pd,
      pads,
      ceilMode: r.ceilMode,
      countIncludePad: r.countIncludePad,
    };
    const k = r.k;
    return {
      x,
      pool,
      w: [r.o, r.c, k, k] as const,
      stride: [r.stride, r.stride] as const,
      pads: [k >> 1, k >> 1, k >> 1, k >> 1] as const,
    };
  })
  // the conv's window must fit the pooled map
  .filter((c) => {
    const p = poolWindowOf(c.x, c.pool.kind, c.pool);
    return p.ho + 2 * (c.w[2] >> 1) >= c.w[2] && p.wo + 2 * (c.w[3] >> 1) >= c.w[3];
  });

/** The geometry of the conv on the pooled map. */
function geometryOf(c: Case) {
  const p = poolWindowOf(c.x, c.pool.kind, c.pool);
  return convGeometry([c.x[0], c.x[1], p.ho, p.wo], c.w, { stride: c.stride, pads: c.pads });
}

/** The CPU reference: the pool, then the conv of its map. */
function reference(c: Case, x: Float32Array, w: Float32Array, bias: Float32Array, activation: Activation) {
  const geo = geometryOf(c);
  const pooled = poolReference(
    x,
    c.x,
    c.pool.kind,
    c.pool.kernel,
    c.pool.stride!,
    c.pool.pads!,
    c.pool.dilation!,
    geo.h,
    geo.w,
    c.pool.countIncludePad,
  );
  return conv2dReference(geo, pooled, w, bias, activation);
}

/** The layer's output error against the reference, the dispatches it recorded, and whether it pooled while loading. */
async function run(
  c: Case,
  options: { algorithm: ConvAlgorithm; dense?: DenseKernel },
  activation: Activation,
  sparsity: number,
  seed: number,
) {
  const geo = geometryOf(c);
  const x = randomArray(
    c.x.reduce((a, b) => a * b),
    seed,
  );
  const bias = randomArray(geo.o, seed + 1);
  const w = sparseWeights(geo, sparsity, false, seed + 2);
  const layer = new Conv2dLayer(gpu, {
    weights: w,
    shape: c.w,
    bias,
    stride: c.stride,
    pads: c.pads,
    activation,
    inputPool: c.pool,
    ...options,
  });
  const xt = gpu.tensor([...c.x], x);
  try {
    let labels: string[] = [];
    let y: ReturnType<Conv2dLayer['encode']> | undefined;
    await gpu.submit((r) => {
      y = layer.encode(r, xt);
      labels = [...r.labels];
    });
    const got = await gpu.read(y!);
    gpu.release(y!);
    expect(y!.shape).toEqual([geo.n, geo.o, geo.ho, geo.wo]);
    const err = relativeError(got, reference(c, x, w, bias, activation));
    return { err, labels, fused: layer.poolsWhileLoading(c.x), geo };
  } finally {
    gpu.release(xt);
    layer.destroy();
  }
}

describe('a conv layer reading its input through a pool', { timeout: 300_000 }, () => {
  it('matches the pool then the conv on the CPU, every algorithm and dense kernel, pooling while loading only on the tiled GEMM', async () => {
    const algorithms = CONV_ALGORITHMS.filter((a) => a !== 'depthwise' && a !== 'implicit-gemm');
    const kernels = DENSE_KERNELS.filter((k) => !k.startsWith('winograd'));
    const options = fc.oneof(
      fc.constantFrom(...algorithms).map((algorithm) => ({ algorithm })),
      fc.constantFrom(...kernels).map((dense) => ({ algorithm: 'implicit-gemm' as const, dense })),
    );
    await fc.assert(
      fc.asyncProperty(
        cases,
        options,
        fc.constantFrom(...ACTIVATIONS),
        fc.constantFrom(0, 0.6),
        fc.integer({ min: 1, max: 10_000 }),
        async (c, opts, activation, sparsity, seed) => {
          fc.pre(!('dense' in opts) || denseKernelApplies(opts.dense, geometryOf(c)));
          const { err, labels, fused, geo } = await run(c, opts, activation, sparsity, seed);
          const what = `${JSON.stringify(opts)} ${activation} ${JSON.stringify(c)}`;
          expect(err, what).toBeLessThan(sumTolerance(geo.k, 8));
          const tile = 'dense' in opts ? gemmTileOf(opts.dense) : undefined;
          const pool = { kind: c.pool.kind, ...poolWindowOf(c.x, c.pool.kind, c.pool) };
          expect(fused, what).toBe(tile !== undefined && poolsInLoader(geo, pool, tile));
          expect(labels.includes(`pool-${c.pool.kind}`), what).toBe(!fused);
        },
      ),
      { seed: 71, numRuns: 24, endOnFailure: true },
    );
  });

  it('is refused for an input that is not NCHW', () => {
    const layer = new Conv2dLayer(gpu, {
      weights: new Float32Array(4),
      shape: [2, 2, 1, 1],
      inputPool: { kind: 'max', kernel: [2, 2] },
    });
    expect(() => layer.geometry([1, 2, 8])).toThrow(/NCHW/);
    layer.destroy();
  });

  it('is refused by the GEMM where the input does not pool to the conv geometry', async () => {
    const geo = convGeometry([1, 2, 3, 3], [2, 2, 1, 1]);
    const pool = {
      kind: 'max' as const,
      ...poolWindowOf([1, 2, 8, 8], 'max', { kernel: [2, 2], stride: [2, 2] }),
    };
    const t = (shape: number[]) => gpu.empty(shape);
    const b = { x: t([1, 2, 8, 8]), w: t([2, 2, 1, 1]), bias: t([2]), y: t([1, 2, 3, 3]) };
    await expect(gpu.submit((r) => encodeImplicitGemmConv(r, b, geo, 'none', { pool }))).rejects.toThrow(
      GpuError,
    );
    for (const v of Object.values(b)) gpu.release(v);
  });

  /** A pool of `kernel`/`stride` over [n, c, h, w] and the 1×1 conv to `o` channels of its map. */
  const pooledLayer = (
    x: [number, number, number, number],
    o: number,
    kind: 'max' | 'avg',
    k: number,
    s: number,
    pad: number,
  ) => {
    const window = poolWindowOf(x, kind, { kernel: [k, k], stride: [s, s], pads: [pad, pad, pad, pad] });
    const geo = convGeometry([x[0], x[1], window.ho, window.wo], [o, x[1], 1, 1]);
    return { geo, pool: { kind, ...window }, tile: gemmTileOf(chooseDenseKernel(geo, false))! };
  };

  it('pools while loading where that costs less than a pool pass, as measured on the H100', () => {
    // batch 1: GoogLeNet's 4a and 5a pool projections lost 20 and 33 µs, its stem's reduction and
    // Bi-Real's 2×2 shortcuts gained; batch 32: inception 3a's projection took 57 µs against 112
    const fuses = (l: ReturnType<typeof pooledLayer>) => poolsInLoader(l.geo, l.pool, l.tile);
    expect(fuses(pooledLayer([1, 480, 14, 14], 64, 'max', 3, 1, 1))).toBe(false);
    expect(fuses(pooledLayer([1, 832, 7, 7], 128, 'max', 3, 1, 1))).toBe(false);
    expect(fuses(pooledLayer([1, 64, 112, 112], 64, 'max', 3, 2, 0))).toBe(true);
    expect(fuses(pooledLayer([1, 64, 56, 56], 128, 'avg', 2, 2, 0))).toBe(true);
    expect(fuses(pooledLayer([32, 192, 28, 28], 32, 'max', 3, 1, 1))).toBe(true);
  });

  it('charges a sparse kernel the pool pass only where the dense kernel would pool while loading', () => {
    const sparsities = Array.from({ length: 100 }, (_, i) => i / 100);
    const threshold = (l: ReturnType<typeof pooledLayer>, pooled: boolean) =>
      sparsities.find(
        (s) => chooseConvAlgorithm(l.geo, s, false, pooled ? l.pool : undefined) !== 'implicit-gemm',
      ) ?? 1;
    // inception 3a's projection at batch 32 pools in its GEMM; 4a's at batch 1 does not
    const batched = pooledLayer([32, 192, 28, 28], 32, 'max', 3, 1, 1);
    expect(threshold(batched, true)).toBeGreaterThan(threshold(batched, false));
    const projection = pooledLayer([1, 480, 14, 14], 64, 'max', 3, 1, 1);
    expect(threshold(projection, true)).toBe(threshold(projection, false));
  });
});
