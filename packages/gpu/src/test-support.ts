import { afterAll, beforeAll, expect } from 'vitest';
import { type Gpu, requestDevice } from './device.js';

/** One device per test file, destroyed at the end so that the worker can exit. */
export function useGpu(): () => Gpu {
  let gpu: Gpu | undefined;
  beforeAll(async () => {
    gpu = await requestDevice();
  });
  afterAll(() => gpu?.destroy());
  return () => {
    if (!gpu) throw new Error('no device');
    return gpu;
  };
}

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

export function randomArray(n: number, seed: number, sparsity = 0): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() < sparsity ? 0 : r() * 2 - 1));
}

/** |got − want| ≤ atol + rtol·max|want| everywhere. */
export function expectClose(got: Float32Array, want: Float32Array, rtol = 1e-5, atol = 1e-5): void {
  expect(got.length).toBe(want.length);
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  const tol = atol + rtol * scale;
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  expect(
    worst,
    `largest difference ${worst} at ${at} (got ${got[at]}, want ${want[at]}), tolerance ${tol}`,
  ).toBeLessThanOrEqual(tol);
}
