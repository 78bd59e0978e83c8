import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gpu, requestDevice } from './device.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

describe('large uploads', () => {
  it('arrive intact, whether their staging buffer is fresh, still in flight or mapped again', async () => {
    // 1 MiB and over takes the staging path; back-to-back uploads of one size overlap the remap
    const n = (1 << 18) + 7;
    const arrays = [0, 1, 2, 3].map((k) =>
      Float32Array.from({ length: n }, (_, i) => ((i * 31 + k) % 1009) - 504),
    );
    const first = arrays.map((a) => gpu.tensor([n], a));
    for (const [k, t] of first.entries()) expect(await gpu.read(t)).toEqual(arrays[k]);
    // after the reads every staging buffer has been mapped again: these reuse them
    const again = arrays.map((a) =>
      gpu.tensor(
        [n],
        a.map((v) => -v),
      ),
    );
    for (const [k, t] of again.entries()) expect(await gpu.read(t)).toEqual(arrays[k]!.map((v) => -v));
    for (const t of [...first, ...again]) gpu.release(t);
  });
});

describe('upload arrays', () => {
  it('arrive intact without a host copy, small and large, whole or from an offset, and are empty after', async () => {
    for (const n of [5, (1 << 18) + 3]) {
      const up = gpu.uploadArray(n + 2);
      for (let i = 0; i < up.length; i++) up[i] = ((i * 37) % 1013) - 506;
      const want = up.slice(2);
      const t = gpu.tensor([n], up.subarray(2));
      expect(up.length, `n ${n}: the array is sent, not copied`).toBe(0);
      expect(await gpu.read(t)).toEqual(want);
      gpu.release(t);
      // its buffer went back to the staging pool: the next array of its size may be it
      const again = gpu.uploadArray(n + 2);
      again.fill(3);
      const u = gpu.tensor([n + 2], again);
      expect(await gpu.read(u)).toEqual(new Float32Array(n + 2).fill(3));
      gpu.release(u);
    }
  });

  it('are a GpuError when sent twice, or asked of a length that is no count', () => {
    const up = gpu.uploadArray(8);
    gpu.release(gpu.tensor([8], up));
    const dst = gpu.empty([8]);
    expect(() => gpu.staging.write(dst.buffer, up)).toThrow(/went to the GPU in an earlier upload/);
    gpu.release(dst);
    expect(() => gpu.uploadArray(-1)).toThrow(/whole number of floats/);
    expect(() => gpu.uploadArray(2.5)).toThrow(/whole number of floats/);
  });
});
