import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomArray } from './conformance/data.js';
import { type Gpu, requestDevice } from './device.js';
import { GpuError } from './errors.js';
import { convGeometry } from './geometry.js';
import { relativeError, sparseWeights, sumTolerance } from './kernels/conv-check.js';
import { DENSE_KERNELS, type DenseKernel, denseKernelApplies } from './kernels/dense-kernel.js';
import { encodeImplicitGemmConv } from './kernels/gemm-conv.js';
import { type PoolParams, poolWindowOf } from './kernels/ops.js';
import { CONV_ALGORITHMS, Conv2dLayer, type ConvAlgorithm, chooseConvAlgorithm } from './layers.js';
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
          expect(fused, what).toBe('dense' in opts && opts.dense.startsWith('gemm-'));
          expect(labels.includes(`pool-${c.pool.kind}`), what).toBe(!fused);
        },
      ),
      { seed: 71, numRuns: 24, endOnFailure: true },
    );
  });

  it('is refused by the GEMM where the input does not pool to the conv geometry', async () => {
    const geo = convGeometry([1, 2, 3, 3], [2, 2, 1, 1]);
    const pool = {
      kind: 'max' as const,
      ...poolWindowOf([1, 2, 8, 8], 'max', { kernel: [2, 2], stride: [2, 2] }),
    };
    const t = (shape: number[]) => gpu.empty(shape);
    const b = { x: t([1, 2, 8, 8]), w: t([2, 2, 1, 1]), bias: t([2]), y: t([1, 2, 3, 3]) };
    await expect(
      gpu.submit((r) => encodeImplicitGemmConv(r, b, geo, 'none', undefined, pool)),
    ).rejects.toThrow(GpuError);
    for (const v of Object.values(b)) gpu.release(v);
  });

  it('prefers the GEMM that pools while loading where a sparse kernel would win by less than a pool pass', () => {
    // GoogLeNet's 4e pool projection at batch 1: 528 channels on 14×14 → 128
    const geo = convGeometry([1, 528, 14, 14], [128, 528, 1, 1]);
    const at = (s: number, pooled: boolean) => chooseConvAlgorithm(geo, s, false, pooled);
    const sparsities = Array.from({ length: 100 }, (_, i) => i / 100);
    const threshold = (pooled: boolean) => sparsities.find((s) => at(s, pooled) !== 'implicit-gemm') ?? 1;
    expect(threshold(true)).toBeGreaterThan(threshold(false));
    expect(at(0.99, true)).toBe('sparse-tiled');
  });
});
