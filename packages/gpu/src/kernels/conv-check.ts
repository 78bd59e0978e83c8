import fc from 'fast-check';
import { randomArray } from '../conformance/data.js';
import type { Gpu } from '../device.js';
import { type ConvGeometry, type ConvParams, convGeometry } from '../geometry.js';
import { Conv2dLayer, type Conv2dSpec } from '../layers.js';
import type { Recorder } from '../recorder.js';
import { conv2dReference } from '../reference.js';
import type { Activation } from '../wgsl.js';
import type { ConvBuffers } from './gemm-conv.js';

// Test support shared by the dense conv kernels' tests: seeded data, one run, and the error against
// the f64-accumulated CPU reference in units of the output's scale.

/** Seeded input, OIHW weights and bias for a geometry. */
export function convData(geo: ConvGeometry, seed: number) {
  return {
    x: randomArray(geo.n * geo.c * geo.h * geo.w, seed),
    w: randomArray(geo.o * geo.cg * geo.kh * geo.kw, seed + 1),
    bias: randomArray(geo.o, seed + 2),
  };
}

/**
 * Runs `encode` on seeded data and returns max |got − want| / max |want| against conv2dReference:
 * an f32 sum of k products is off by about √k ulps of its scale, so tests bound this by c·√k·2⁻²⁴.
 */
export async function convError(
  gpu: Gpu,
  geo: ConvGeometry,
  activation: Activation,
  seed: number,
  encode: (r: Recorder, b: ConvBuffers, data: ReturnType<typeof convData>) => void,
): Promise<number> {
  const data = convData(geo, seed);
  const b: ConvBuffers = {
    x: gpu.tensor([geo.n, geo.c, geo.h, geo.w], data.x),
    w: gpu.tensor([geo.o, geo.cg, geo.kh, geo.kw], data.w),
    bias: gpu.tensor([geo.o], data.bias),
    y: gpu.empty([geo.n, geo.o, geo.ho, geo.wo]),
  };
  try {
    await gpu.submit((r) => encode(r, b, data));
    return relativeError(await gpu.read(b.y), conv2dReference(geo, data.x, data.w, data.bias, activation));
  } finally {
    for (const t of Object.values(b)) gpu.release(t);
  }
}

/** Seeded OIHW weights at a sparsity; with `emptyRows`, every third output channel all zeros. */
export function sparseWeights(
  geo: ConvGeometry,
  sparsity: number,
  emptyRows: boolean,
  seed: number,
): Float32Array {
  const w = randomArray(geo.o * geo.k, seed, sparsity);
  if (emptyRows) for (let o = 0; o < geo.o; o += 3) w.fill(0, o * geo.k, (o + 1) * geo.k);
  return w;
}

/** A Conv2dLayer of the geometry's weight shape, stride, padding, dilation and groups, as `spec` says otherwise. */
export function layerOf(
  gpu: Gpu,
  geo: ConvGeometry,
  spec: Omit<Conv2dSpec, 'shape' | keyof ConvParams>,
): Conv2dLayer {
  return new Conv2dLayer(gpu, {
    ...spec,
    shape: [geo.o, geo.cg, geo.kh, geo.kw],
    stride: [geo.sh, geo.sw],
    pads: [geo.pt, geo.pl, geo.pb, geo.pr],
    dilation: [geo.dh, geo.dw],
    groups: geo.groups,
  });
}

/**
 * {@link convError}'s measure for `weights` run through a Conv2dLayer built with `options`; with
 * `residual`, a seeded tensor of the output's shape added before the activation.
 */
export async function layerError(
  gpu: Gpu,
  geo: ConvGeometry,
  weights: Float32Array,
  activation: Activation,
  options: Pick<Conv2dSpec, 'algorithm' | 'tiling' | 'blocking' | 'staging' | 'shared' | 'dense'>,
  residual = false,
): Promise<number> {
  const x = randomArray(geo.n * geo.c * geo.h * geo.w, 5);
  const bias = randomArray(geo.o, 6);
  const yShape = [geo.n, geo.o, geo.ho, geo.wo];
  const res = residual ? randomArray(geo.n * geo.o * geo.ho * geo.wo, 7) : undefined;
  const layer = layerOf(gpu, geo, { weights, bias, activation, ...options });
  const xt = gpu.tensor([geo.n, geo.c, geo.h, geo.w], x);
  const rt = res && gpu.tensor(yShape, res);
  try {
    let y: ReturnType<typeof layer.encode> | undefined;
    await gpu.submit((r) => {
      y = layer.encode(r, xt, rt);
    });
    const got = await gpu.read(y!);
    gpu.release(y!);
    return relativeError(got, conv2dReference(geo, x, weights, bias, activation, res));
  } finally {
    gpu.release(xt);
    if (rt) gpu.release(rt);
    layer.destroy();
  }
}

/** Whether two f32 arrays are equal bit for bit (NaN payloads and −0 included). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** The error bound for a sum of k products, times `factor` for algorithms that reassociate it. */
export function sumTolerance(k: number, factor = 1): number {
  return factor * 4 * Math.sqrt(k) * 2 ** -24;
}

/** max |got − want| / max |want| (infinite where a value is NaN). */
export function relativeError(got: Float32Array, want: Float32Array): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    const d = Math.abs(got[i]! - want[i]!);
    err = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(err, d);
  }
  return err / Math.max(scale, Number.MIN_VALUE);
}

/**
 * Any kernel, stride, dilation, padding, groups and batch, with odd sizes: at most `max.n` images,
 * `max.cg` and `max.og` channels per group, `max.k` taps a side and `max.extra` more rows and columns.
 */
export function arbitraryConvGeometry(max: {
  n: number;
  cg: number;
  og: number;
  k: number;
  extra: readonly [number, number];
}): fc.Arbitrary<ConvGeometry> {
  const upTo = (m: number) => fc.integer({ min: 1, max: m });
  return fc
    .record({
      n: upTo(max.n),
      groups: fc.constantFrom(1, 1, 2, 3),
      cg: upTo(max.cg),
      og: upTo(max.og),
      k: fc.tuple(upTo(max.k), upTo(max.k)),
      stride: fc.tuple(upTo(2), upTo(2)),
      dilation: fc.tuple(upTo(2), upTo(2)),
      pads: fc.tuple(...[0, 0, 0, 0].map(() => fc.integer({ min: 0, max: 2 }))),
      extra: fc.tuple(fc.integer({ min: 0, max: max.extra[0] }), fc.integer({ min: 0, max: max.extra[1] })),
    })
    .map((c) =>
      convGeometry(
        [
          c.n,
          c.groups * c.cg,
          c.dilation[0] * (c.k[0] - 1) + 1 + c.extra[0],
          c.dilation[1] * (c.k[1] - 1) + 1 + c.extra[1],
        ],
        [c.groups * c.og, c.cg, ...c.k],
        {
          stride: c.stride,
          dilation: c.dilation,
          pads: c.pads as [number, number, number, number],
          groups: c.groups,
        },
      ),
    );
}
