import { randomArray } from '../conformance/data.js';
import type { Gpu } from '../device.js';
import type { ConvGeometry } from '../geometry.js';
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
    const got = await gpu.read(b.y);
    const want = conv2dReference(geo, data.x, data.w, data.bias, activation);
    let scale = 0;
    let err = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]!));
      const d = Math.abs(got[i]! - want[i]!);
      err = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(err, d);
    }
    return err / Math.max(scale, Number.MIN_VALUE);
  } finally {
    for (const t of Object.values(b)) gpu.release(t);
  }
}

/** The error bound for a sum of k products, times `factor` for algorithms that reassociate it. */
export function sumTolerance(k: number, factor = 1): number {
  return factor * 4 * Math.sqrt(k) * 2 ** -24;
}
